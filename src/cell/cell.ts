// One cell: a verified genome, the supervisor, the router, DNS, and its place in the organism, with a local API beside.
import { writeFile, rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { dirname } from 'node:path'
import { logger } from '../core/log.ts'
import { checkoutGenome } from '../genome/index.ts'
import type { Genome } from '../genome/types.ts'
import { createSupervisor } from '../supervisor/index.ts'
import { createRouter, buildRouteTable } from '../router/index.ts'
import type { Router } from '../router/index.ts'
import { createDnsServer } from '../dns/index.ts'
import type { DnsServer } from '../dns/index.ts'
import { startOrganism } from '../organism/organism.ts'
import type { Organism } from '../organism/organism.ts'
import { createMover } from '../organism/move.ts'
import type { Mover } from '../organism/move.ts'
import { createLocalApi } from './api.ts'
import { acquireLock } from './lock.ts'
import { cellPaths } from './paths.ts'
import type { CellPaths } from './paths.ts'
import { cellStatus } from './status.ts'
import type { CellStatus } from './status.ts'
import { organismReport, zoneView, dashboardView } from './views.ts'
import { createDashboard } from '../dashboard/index.ts'
import type { Dashboard } from '../dashboard/index.ts'
import { isMapHost } from './map-host.ts'
import { createDnsPusher } from './dns-push.ts'
import type { DnsPrimary } from './dns-push.ts'
import { divideOnto, prepareDivision } from './divide-onto.ts'
import { startDivisionLoop } from './division.ts'
import type { DemoPool } from './demo-pool.ts'
import { loadPool } from '../imprint/index.ts'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { upstreamFor, keepReconciled, publishOwnRecord, defaultCellName } from './wiring.ts'

const log = logger('cell')
const SOFTWARE = '0.1.0'

export interface CellOptions {
  stateDir: string
  /** A git repository holding the genome. */
  genomeRepo: string
  ref?: string
  /** Router port; null takes the genome's, then 8080. 0 picks a free port. */
  routerPort?: number | null
  routerHost?: string
  /** DNS port; null takes the genome's, then 5300. 0 picks a free port. */
  dnsPort?: number | null
  apiPort?: number
  /** Where other cells link to this one: an IPv4 address (default all) and a port (default the genome's, else a free one). */
  peerHost?: string
  peerPort?: number | null
  /** The address other cells and DNS clients use to reach this cell (default 127.0.0.1). */
  advertise?: string
  name?: string
  join?: { address?: string, token: string }
  /** The SSH private key for dividing onto pool hosts (default ~/.ssh/id_ed25519). */
  identityFile?: string
  /** An existing primary DNS server to keep up to date with RFC 2136 updates. */
  dnsPrimary?: DnsPrimary
  /** Hosts beyond the pool files, with their own way in (the demo's hosts on this machine). */
  extraPool?: Pick<DemoPool, 'hosts' | 'targetFor' | 'privateKey'>
  supervisor?: { healthIntervalMs?: number, startTimeoutMs?: number, stopGraceMs?: number }
}

export interface Cell {
  readonly paths: CellPaths
  readonly genome: Genome
  readonly routerPort: number
  readonly apiPort: number
  readonly organism: Organism
  status: () => CellStatus
  readonly stopped: Promise<void>
  stop: () => Promise<void>
}

export async function startCell (opts: CellOptions): Promise<Cell> {
  const paths = cellPaths(opts.stateDir)
  const releaseLock = await acquireLock(paths.lockFile)
  const cleanups: Array<() => Promise<void>> = [releaseLock]
  const unwind = async (): Promise<void> => { for (const c of cleanups.reverse()) await c().catch(() => {}) }
  try {
    const { commit, genome } = await checkoutGenome(opts.genomeRepo, opts.ref ?? 'HEAD', paths.checkouts)
    log.info('genome verified', { organism: genome.organism, commit })
    const advertise = opts.advertise ?? '127.0.0.1'

    let org: Organism | null = null
    let resolve: ReturnType<typeof upstreamFor> | null = null
    let dashboard: Dashboard | null = null
    const router: Router = createRouter({
      port: opts.routerPort ?? genome.routerPort ?? 8080,
      host: opts.routerHost,
      resolve: (fn, forwarded) => resolve?.(fn, forwarded) ?? { kind: 'unavailable', reason: 'the cell is starting', retryAfterSeconds: 1 },
      // The live map answers on hosts no function claims: an IP address, localhost, or the zone itself.
      fallback: (req, res) => dashboard != null && isMapHost(req.headers.host, genome.zone) && dashboard.handle(req, res)
    })
    router.setRoutes(buildRouteTable(genome.functions.map((f) => ({ function: f.name, domain: f.domain, pathPrefix: f.pathPrefix }))))
    await router.start()
    cleanups.push(() => router.stop())
    const supervisor = createSupervisor({
      stateDir: paths.functions,
      functions: genome.functions,
      genomeVersion: commit,
      zone: genome.zone,
      // The organism decides which functions run here; none start before it has.
      autostart: [],
      env: {
        // Functions call their siblings through this router, by domain.
        ORGANISM_ROUTER: `http://127.0.0.1:${router.port}`,
        // `node` in a start command is the cell's own Node.
        PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`
      },
      ...opts.supervisor
    })
    await supervisor.start()
    cleanups.push(() => supervisor.stop())

    org = await startOrganism({
      stateDir: paths.root,
      organism: genome.organism,
      functions: genome.functions.map((f) => f.name),
      listen: [`/ip4/${opts.peerHost ?? '0.0.0.0'}/tcp/${opts.peerPort ?? genome.peerPort ?? 0}`],
      join: opts.join,
      routerPort: () => router.port,
      routerHost: opts.routerHost
    })
    const organism = org
    cleanups.push(() => organism.stop())
    resolve = upstreamFor(organism, supervisor, genome.organism)
    let mover: Mover | null = null
    const reconcileNow = keepReconciled(organism, supervisor, () => mover)
    // Bulk ports bind where the router does (a loopback demo host's own 127.x address, else all interfaces) and are
    // offered at the advertised address, the one peers already reach this cell at.
    mover = await createMover(organism, supervisor, genome.organism, genome.functions.map((f) => f.name), {
      bulk: { bindHost: opts.routerHost ?? '0.0.0.0', advertise }
    })
    organism.onChange(reconcileNow)
    reconcileNow()

    const report = () => organismReport(organism.self, organism.cells(), organism.sync.placements(), organism.events.list())
    const domains = new Map(genome.functions.map((f) => [f.name, f.domain]))
    const allCells = new Set(genome.functions.filter((f) => f.dns === 'all-cells').map((f) => f.name))
    let dns: DnsServer | null = null
    const dnsPort = opts.dnsPort ?? genome.dnsPort ?? 5300
    dns = createDnsServer({ port: dnsPort, host: opts.routerHost ?? '0.0.0.0', view: () => zoneView(genome.zone, report(), domains, allCells) })
    await dns.start()
    const dnsServer = dns
    cleanups.push(() => dnsServer.stop())
    if (opts.dnsPrimary != null) {
      const pusher = createDnsPusher(opts.dnsPrimary, () => zoneView(genome.zone, report(), domains, allCells))
      organism.onChange(pusher.poke)
      cleanups.push(async () => { pusher.stop() })
    }

    const name = opts.name ?? defaultCellName(organism.self)
    dashboard = createDashboard({
      view: () => dashboardView(genome.organism, genome.zone, report(), domains, (fn) => {
        const s = supervisor.get(fn)
        if (s == null) return null
        const t = router.stats(fn)
        return { state: s.state, requestsPerSecond: t.requestsPerSecond, p99Ms: t.p99Ms }
      }),
      pushIntervalMs: 500
    })
    const map = dashboard
    cleanups.push(async () => { map.close() })
    const publish = publishOwnRecord(organism, { name, genome: commit, software: SOFTWARE, routerAddr: () => `${advertise}:${router.port}`, dnsAddr: () => `${advertise}:${dnsServer.port}`, supervisor, router })
    publish()
    const publisher = setInterval(publish, 2000)
    publisher.unref()

    let resolveStopped!: () => void
    const stopped = new Promise<void>((r) => { resolveStopped = r })
    let stopping: Promise<void> | null = null
    const startedAt = Date.now()
    const status = (): CellStatus => cellStatus({ genome, commit, paths, router, supervisor, apiPort: api.port, startedAt, name, dnsPort: dnsServer.port, organism: report(), plan: organism.plan(), division: division.lastDecision() })
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        log.info('stopping')
        clearInterval(publisher)
        division.stop()
        // API first, then the router (no new requests), DNS, the functions (drain), the peer link, the lock.
        map.close()
        await api.stop().catch(() => {})
        await rm(paths.apiFile, { force: true })
        await router.stop().catch((err: unknown) => log.warn('router stop failed', { err }))
        await dnsServer.stop().catch(() => {})
        await supervisor.stop().catch((err: unknown) => log.warn('supervisor stop failed', { err }))
        await organism.stop().catch((err: unknown) => log.warn('organism stop failed', { err }))
        await releaseLock()
        resolveStopped()
      })()
      return stopping
    }

    // Division: on command (`cell divide`) and by itself when the genome's limits are passed for its window.
    const genomeHostsFile = genome.hostPool != null ? join(genome.root, genome.hostPool) : undefined
    const divide = async (hostUrl: string, fn: string | null, identity: string | null, progress: (line: string) => void): Promise<unknown> => {
      const local = [...organism.plan().local]
      const pick = fn ?? local.sort((a, b) => router.stats(b).requestsPerSecond - router.stats(a).requestsPerSecond)[0]
      if (pick == null) throw new Error('this cell runs no function to hand off')
      const r = await divideOnto({
        stateDir: paths.root, hostUrl, genomeHostsFile, identityFile: identity ?? opts.identityFile ?? join(homedir(), '.ssh', 'id_ed25519'),
        extraHosts: opts.extraPool?.hosts, targetFor: opts.extraPool?.targetFor, extraKey: opts.extraPool?.privateKey,
        genomeRepo: opts.genomeRepo, commit, organism: genome.organism, self: organism.self, fn: pick,
        routerPort: router.port, dnsPort: dnsServer.port, peerPort: genome.peerPort,
        token: async () => organism.node.admitToken(10 * 60_000),
        move: async (f, to) => await (mover as Mover).move(f, to),
        cells: () => organism.cells().map((c) => ({ peer: c.peer, liveness: c.liveness, name: c.record?.body.name })),
        onProgress: (e) => { progress(`${e.step} ${e.phase}${e.ms != null ? ` ${e.ms} ms` : ''}${e.detail != null ? ` ${e.detail}` : ''}`) }
      })
      organism.events.note({ kind: 'join', text: `divided onto ${r.cell}: ${pick} handed off in ${r.ms} ms` })
      return r
    }
    const tried = new Set<string>()
    const freeHost = async (): Promise<string | null> => {
      const taken = new Set(organism.cells().map((c) => c.record?.body.addrs.router?.replace(/:\d+$/, '')))
      const pool = [...await loadPool(paths.root, genomeHostsFile), ...opts.extraPool?.hosts ?? []]
      return pool.find((h) => !taken.has(h.host) && !tried.has(h.url))?.url ?? null
    }
    const division = startDivisionLoop({
      limits: genome.division,
      supervisor,
      router,
      localFunctions: () => [...organism.plan().local],
      poolHasFreeHost: async () => {
        const free = await freeHost() != null
        if (free) prepare()
        return free
      },
      divide: async (fn, reason) => {
        const url = await freeHost()
        if (url == null) return
        tried.add(url)
        log.info('dividing by itself', { fn, host: url, reason })
        await divide(url, fn, null, (line) => log.info(`divide: ${line}`))
      }
    })
    cleanups.push(async () => { division.stop() })
    // With hosts to grow onto, what imprint copies is made now (and when a host is added) rather than in a division's path.
    let preparing: Promise<void> | null = null
    function prepare (): void {
      preparing ??= prepareDivision(paths.root).catch((err: unknown) => { preparing = null; log.warn('could not prepare what a division copies', { err }) })
    }
    void freeHost().then((url) => { if (url != null) prepare() }).catch(() => {})

    const token = randomBytes(24).toString('base64url')
    const api = createLocalApi({
      port: opts.apiPort ?? 0,
      token,
      status,
      supervisor,
      router,
      admit: (ttlMs) => organism.node.admitToken(ttlMs),
      move: async (fn, to, force) => await (mover as Mover).move(fn, to, { force }),
      divide,
      onStop: () => { void stop() }
    })
    await api.start()
    await writeFile(paths.apiFile, JSON.stringify({ pid: process.pid, apiPort: api.port, routerPort: router.port, token }), { mode: 0o600 })
    log.info('cell started', { router: router.port, api: api.port, dns: dnsServer.port, peer: organism.self })
    return { paths, genome, routerPort: router.port, apiPort: api.port, organism, status, stopped, stop }
  } catch (err) {
    await unwind()
    throw err
  }
}
