// One cell: a verified genome, then its parts declared in start order and started with one startAll (stopped in
// reverse, also when a start fails half way): functions, peer link, organism, mover, router, DNS, map, division, API.
import { writeFile, rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import { logger } from '../core/log.ts'
import { isOrganismError } from '../core/errors.ts'
import { realClock } from '../core/clock.ts'
import { startAll, startableOf } from '../core/lifecycle.ts'
import type { Startable } from '../core/lifecycle.ts'
import { checkoutGenome, DEFAULT_IMMUNE, ExportWatch, MIRROR_DIR } from '../genome/index.ts'
import type { Genome } from '../genome/types.ts'
import { createSupervisor, functionUids, hostIds, nodeDirOf } from '../supervisor/index.ts'
import { createRouter, buildRouteTable, serveLink } from '../router/index.ts'
import { cellNameProblem, createDnsServer } from '../dns/index.ts'
import { cellError } from './errors.ts'
import { startOrganism, openPeerLink, protocols, stateVerify, createOrganismStore, expulsionFacts } from '../organism/index.ts'
import type { Organism } from '../organism/index.ts'
import { createMover, tarDataMover, migrateError } from '../migrate/index.ts'
import type { MoveResult, Signed } from '../migrate/index.ts'
import { createDashboard } from '../dashboard/index.ts'
import { createLocalApi } from './api.ts'
import { acquireLock } from './lock.ts'
import { cellPaths } from './paths.ts'
import type { CellPaths } from './paths.ts'
import { cellStatus } from './status.ts'
import type { CellStatus } from './status.ts'
import { organismReport, zoneView, dashboardView } from './views.ts'
import { isMapHost } from './map-host.ts'
import { createDnsPusher } from './dns-push.ts'
import type { DnsPrimary } from './dns-push.ts'
import { createDivision } from './division.ts'
import type { ExtraPool } from './division.ts'
import { upstreamFor, createReconciler, createRecordPublisher, defaultCellName, portRetirer } from './wiring.ts'
import { createInstanceScaler } from './scale.ts'
import { createImmune } from './immune.ts'
import { BundleWatch } from './bundle-watch.ts'
import { createUpdater } from './update.ts'
import { createLocalSwitch } from './switch.ts'
import { createFollower } from './follow.ts'
import { replicationPart } from './replication.ts'
import { forwardConnector, openForwardServer, readTicket, serveTicket } from '../forward/index.ts'
import { expulsionCheck, operatorCheck, recordProofs } from './override.ts'

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
  /** Serve /metrics on the local API without its token. */
  metricsOpen?: boolean
  /** The SSH private key for dividing onto pool hosts (default ~/.ssh/id_ed25519). */
  identityFile?: string
  /** An existing primary DNS server to keep up to date with RFC 2136 updates. */
  dnsPrimary?: DnsPrimary
  /** Hosts beyond the pool files, with their own way in (the demo's hosts on this machine). */
  extraPool?: ExtraPool
  supervisor?: { healthIntervalMs?: number, startTimeoutMs?: number, stopGraceMs?: number }
  /** Run functions as the cell's user even when that is root (`--functions-unconfined`: no mount namespaces here). */
  functionsUnconfined?: boolean
  /** Roll out by itself a new signed commit that appears at the genome repo's ref (`cell start --follow`). */
  follow?: boolean
}

export interface Cell {
  readonly paths: CellPaths
  readonly genome: Genome
  readonly routerPort: number
  readonly apiPort: number
  readonly organism: Organism
  status: () => CellStatus
  /**
   * Moves fn, with its data, to the cell named `to` (asks the owner when this cell is not it: then `signed`, the
   * operator's override, is needed; genome/override.ts).
   */
  move: (fn: string, to: string, signed?: Signed) => Promise<MoveResult>
  readonly stopped: Promise<void>
  stop: () => Promise<void>
}

export async function startCell (opts: CellOptions): Promise<Cell> {
  const paths = cellPaths(opts.stateDir)
  const releaseLock = await acquireLock(paths.lockFile)
  try {
    const { commit, genome, repaired } = await checkoutGenome(opts.genomeRepo, opts.ref ?? 'HEAD', paths.checkouts, { pinFile: paths.genomePin })
      .catch(async (err: unknown) => {
        // An update from a peer moved this cell past its genome repo's HEAD: it starts on the commit it ran last.
        if (opts.ref != null || !isOrganismError(err, 'GENOME_NOT_DESCENDANT') || (err.details as { older?: boolean }).older !== true) throw err
        const last = (err.details as { last: string }).last
        log.info('the genome repo is behind the commit this cell last ran (an update): starting on that one', { commit: last })
        return await checkoutGenome(join(paths.checkouts, MIRROR_DIR), last, paths.checkouts, { pinFile: paths.genomePin })
      })
    if (repaired != null) log.warn('the exported genome no longer held what its commit holds: exported again', { commit, path: repaired })
    log.info('genome verified', { organism: genome.organism, commit })
    const nameProblem = opts.name == null ? null : cellNameProblem(opts.name, genome.zone, genome.functions.map((f) => f.domain))
    if (nameProblem != null) throw cellError('CELL_NAME_INVALID', `cell name ${nameProblem}`, { details: { name: opts.name } })
    const clock = realClock
    const advertise = opts.advertise ?? '127.0.0.1'
    const bindHost = opts.routerHost ?? '0.0.0.0'
    const names = protocols(genome.organism)
    const fnNames = genome.functions.map((f) => f.name)
    // One owner each (the ownership store, moves, replicas, takeovers), or instances on several cells (placed alike by
    // every cell, no store): a stateless function with `instances`.
    const ownedNames = genome.functions.filter((f) => f.instances == null).map((f) => f.name)
    const spreadSpecs = genome.functions.filter((f) => f.instances != null)
    const spreadNames = spreadSpecs.map((f) => f.name)

    const supervisor = createSupervisor({
      stateDir: paths.functions,
      functions: genome.functions,
      genomeVersion: commit,
      zone: genome.zone,
      // The organism decides which functions run here; none start before it has.
      autostart: [],
      // As root, each function runs as its own user and cannot read the cell's keys (supervisor/confine.ts).
      confine: process.getuid?.() === 0 && opts.functionsUnconfined !== true
        ? { uids: functionUids(fnNames, await hostIds()), genomeRoot: genome.root, nodeDir: nodeDirOf(process.execPath) }
        : null,
      env: {
        // Read at each spawn, after the router has bound its port: functions call their siblings through it, by domain.
        get ORGANISM_ROUTER () { return `http://127.0.0.1:${router.port}` },
        // Which cell this process runs on (its name): for a function's logs and answers, say one on several cells.
        get ORGANISM_CELL () { return cellName() },
        // `node` in a start command is the cell's own Node.
        PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`
      },
      ...opts.supervisor
    })
    const link = startableOf('peer link', async () => {
      const opened = await openPeerLink({ stateDir: paths.root, organism: genome.organism, host: opts.peerHost ?? '0.0.0.0', port: opts.peerPort ?? genome.peerPort ?? null, join: opts.join, verifyExpulsion: expulsionCheck(genome) })
      if (opts.join != null) log.info('joined the organism', { members: opened.node.members().length })
      // Requests forwarded by other cells enter our own router, which serves them from local functions only.
      await opened.node.handleStream(names.http, (stream) => { serveLink(stream, router.port, opts.routerHost, (p) => router.trustLinkPort(p)) })
        .catch(async (err: unknown) => { await opened.node.stop(); throw err })
      return opened
    }, async (opened) => { await opened.node.stop() })
    // Who owns what, in a store: a local file while alone, etcd with mutual TLS once a second member appears.
    const ownership = startableOf('ownership store', async () => {
      const s = createOrganismStore({ stateDir: paths.root, organism: genome.organism, link: link.get().node, protocol: names.store, advertise, bindHost: opts.routerHost, clock,
        cells: () => organism.get().cellRefs(),
        proofs: recordProofs(genome, link.get().signer, stateVerify(), (text) => { organism.get().note({ kind: 'info', text }) }) })
      await s.start()
      return s
    }, async (s) => { await s.stop() })
    const organism = startableOf('organism', async () => {
      const { node, signer, founding, membershipFile } = link.get()
      return await startOrganism({ organism: genome.organism, functions: ownedNames, spread: (cells) => scaler.spread(cells), distrusted: (peer) => immune.distrusted(peer), link: node, ownership: ownership.get().view, signer, verify: stateVerify(), clock, founding, membershipFile })
    }, async (org) => { await org.stop() })
    // What this cell runs now: the commit it started on, then each update it switched to (switch.ts).
    let current = { commit, genome, dir: genome.root, watch: await ExportWatch.open(join(paths.checkouts, MIRROR_DIR), commit, genome.root) }
    // What this cell runs is checked against its commit every 5 s, healed from the verified objects (immune.ts).
    const immune = createImmune({ watch: () => current.watch, functions: () => current.genome.functions, supervisor, cells: () => organism.get().cells(), self: () => link.get().node.peerId,
      nameOf: (peer) => organism.get().nameOf(peer), note: (e) => { organism.get().note(e) }, clock, bundle: await BundleWatch.open(process.argv[1]) })
    const local = createLocalSwitch({
      supervisor, traffic: (fn) => router.stats(fn), reads: (fn) => router.recentReads(fn), pinFile: paths.genomePin, note: (e) => { organism.get().note(e) }, running: () => current,
      adopt: async (c) => { current = { commit: c.commit, genome: c.genome, dir: c.dir, watch: await ExportWatch.open(join(paths.checkouts, MIRROR_DIR), c.commit, c.dir) } }
    })
    const updater = createUpdater({ paths, genomeRepo: opts.genomeRepo, protocols: names, link: () => link.get().node, organism: () => organism.get(), local, running: () => current })
    const follower = opts.follow === true
      ? createFollower({ genomeRepo: opts.genomeRepo, ref: opts.ref ?? 'HEAD', pinFile: paths.genomePin, clock, organism: () => organism.get(), running: () => current.commit, offer: async (c) => await updater.offer(c) })
      : null
    // How many cells run each stateless function: what live cells ask for, within the genome's bounds (scale.ts).
    const scaler = createInstanceScaler(genome.functions, { self: () => link.get().node.peerId, cells: () => organism.get().cells(), rpsLimit: genome.division.requestsPerSecond, clock })
    const mover = startableOf('mover', async () => {
      // Bulk ports bind where the router does (a loopback demo host's own 127.x address, else all interfaces) and are
      // offered at the advertised address, the one peers already reach this cell at.
      const m = createMover({ placements: organism.get(), host: supervisor, link: link.get().node, data: tarDataMover({ bindHost, advertise }), clock, functions: ownedNames, protocols: names,
        precopy: genome.moves?.live ?? true, holdMaxMs: genome.moves?.holdMaxMs,
        maxDataBytes: (fn) => genome.functions.find((f) => f.name === fn)?.maxDataBytes ?? null,
        authorize: operatorCheck(genome, (text) => { organism.get().note({ kind: 'move', text }) }) })
      await m.start()
      return m
    }, async (m) => { await m.stop() })

    const report = () => { const o = organism.get(); return organismReport(o.self, o.cells(), o.placements(), o.events(), spreadNames) }
    const domains = new Map(genome.functions.map((f) => [f.name, f.domain]))
    const allCells = new Set(genome.functions.filter((f) => f.dns === 'all-cells').map((f) => f.name))
    const zone = () => zoneView(genome.zone, report(), domains, allCells)
    const dashboard = createDashboard({
      view: () => dashboardView(genome.organism, genome.zone, report(), domains, (fn) => {
        const s = supervisor.get(fn)
        if (s == null) return null
        const t = router.stats(fn)
        return { state: s.state, requestsPerSecond: t.requestsPerSecond, p99Ms: t.p99Ms }
      }, clock.now(), { moves: organism.get().moves(), received: (fn) => router.stats(fn).requestsPerSecond }),
      details: genome.mapDetails ?? 'local',
      pushIntervalMs: 500
    })
    const replication = replicationPart({ genome, protocol: names.replica, organism: organism.get, link: () => link.get().node, supervisor, moving: () => mover.get(), bulk: { bindHost, advertise }, clock, expelled: (id) => link.get().node.isExpelled(id), quarantined: (id) => immune.quarantined(id) })
    // Requests for functions other cells own: over their TLS forwarding port, or the member link where it is closed.
    const forwarding = forwardConnector({
      ticket: async (cell) => await readTicket(await link.get().node.openStream(cell, names.forward)),
      member: async (cell) => await link.get().node.openStream(cell, names.http)
    })
    const upstream = upstreamFor({ plan: () => organism.get().plan(), get self () { return organism.get().self } }, forwarding.open, supervisor, clock,
      (now) => ownership.get().view.lease()?.mayServe(now) ?? false, (fn) => replication.get().commit(fn))
    const router = createRouter({
      port: opts.routerPort ?? genome.routerPort ?? 8080,
      host: opts.routerHost,
      resolve: upstream,
      // The live map answers on hosts no function claims: an IP address, localhost, or the zone itself.
      fallback: (req, res) => isMapHost(req.headers.host, genome.zone) && dashboard.handle(req, res)
    })
    router.setRoutes(buildRouteTable(genome.functions.map((f) => ({ function: f.name, domain: f.domain, pathPrefix: f.pathPrefix }))))
    const dns = createDnsServer({ port: opts.dnsPort ?? genome.dnsPort ?? 5300, host: bindHost, view: zone })
    const pusher = opts.dnsPrimary == null ? null : createDnsPusher(opts.dnsPrimary, zone, clock, (l) => organism.get().onChange(l))
    const name = opts.name ?? null
    const cellName = (): string => name ?? defaultCellName(organism.get().self)
    const division = createDivision({
      stateDir: paths.root, genome, genomeRepo: opts.genomeRepo, mirror: join(paths.checkouts, MIRROR_DIR), commit: () => current.commit, clock, identityFile: opts.identityFile, extraPool: opts.extraPool,
      organism: organism.get, mover: mover.get, admitToken: (ttl) => link.get().node.admitToken(ttl),
      rps: (fn) => router.stats(fn).requestsPerSecond,
      readings: () => supervisor.status().filter((s) => s.state === 'running').map((s) => ({ name: s.name, cpuSeconds: s.cpuSeconds, memoryBytes: s.memoryBytes, dataBytes: s.dataBytes, traffic: router.stats(s.name) })),
      scaler,
      ports: () => ({ router: router.port, dns: dns.port }),
      immune: { view: () => ({ quarantinedFor: immune.quarantinedFor, distrusted: immune.distrusted, selfTrusted: immune.failures() === 0 }), replaceAfterMs: () => (current.genome.immune ?? DEFAULT_IMMUNE).replaceAfterMs }
    })

    let stopping: Promise<void> | null = null
    let resolveStopped!: () => void
    const stopped = new Promise<void>((resolve) => { resolveStopped = resolve })
    const startedAt = clock.now()
    const status = (): CellStatus => cellStatus({ genome, commit: current.commit, paths, router, supervisor, apiPort: api.port, startedAt, now: clock.now(), name: cellName(), dnsPort: dns.port, organism: report(), store: ownership.get().status(), plan: organism.get().plan(), division: division.driver.lastDecision(), replication: (fn) => replication.get().status(fn), forwarding })
    const token = randomBytes(24).toString('base64url')
    const api = createLocalApi({
      port: opts.apiPort ?? 0,
      token,
      metricsOpen: opts.metricsOpen === true,
      status,
      supervisor,
      router,
      admit: (ttlMs) => link.get().node.admitToken(ttlMs),
      expel: async (signed) => {
        const node = link.get().node
        // Who the expelled cell let in, read before its signatures stop counting: the operator decides about them.
        const peer = expulsionFacts(signed)?.facts.peer
        const admitted = [...new Set(node.admissions().filter((r) => r.admittedBy === peer && r.peerId !== peer).map((r) => r.peerId))]
        return { removed: await node.expel(signed), admitted }
      },
      move: async (fn, to, force, signed) => {
        if (spreadNames.includes(fn)) throw migrateError('MIGRATE_NOT_MOVABLE', `${fn} runs on several cells (instances: ${spreadSpecs.find((f) => f.name === fn)?.instances?.min ?? '?'}); the organism places its instances itself`)
        return await mover.get().move(fn, to, { force, signed })
      },
      divide: division.divide,
      update: async (ref) => await updater.offer(ref),
      onStop: () => { void stop() }
    })
    const apiFile: Startable = {
      name: 'api file',
      start: async () => { await writeFile(paths.apiFile, JSON.stringify({ pid: process.pid, apiPort: api.port, routerPort: router.port, token }), { mode: 0o600 }) },
      stop: async () => { await rm(paths.apiFile, { force: true }) }
    }
    // The owner's side: forwarded connections go straight into the router. Started before it and stopped after it,
    // so that the router's drain covers forwarded requests in flight like any other.
    const forwardPort = startableOf('forwarding port', async () => {
      const server = await openForwardServer({ bindHost, advertise, accept: (sock) => { router.accept(sock) } })
      await link.get().node.handleStream(names.forward, (stream, from) => { serveTicket(stream, server.ticket(from)) })
        .catch((err: unknown) => { server.close(); throw err })
      return server
    }, async (server) => { server.close() })
    const parts: Array<Startable | null> = [
      supervisor, link, ownership, organism, immune, updater, scaler, mover, replication, forwardPort, router,
      portRetirer(supervisor, (port) => { router.retirePort(port) }),
      createReconciler({ plan: () => organism.get().plan(), onChange: (l) => organism.get().onChange(l) }, supervisor, () => mover.get().arriving, async (fn) => { await replication.get().settled(fn) }),
      dns, pusher,
      createRecordPublisher({ setOwnRecord: (b) => { organism.get().setOwnRecord(b) } }, () => ({
        name: cellName(), genome: current.commit, software: SOFTWARE, functions: supervisor.status(), traffic: (fn) => router.stats(fn), scale: scaler.asks(), tree: immune.tree(),
        addrs: { peer: link.get().node.addrs(), router: `${advertise}:${router.port}`, dns: `${advertise}:${dns.port}` }
      }), clock),
      { name: 'live map', start: async () => {}, stop: async () => { dashboard.close() } },
      division.driver, division.replacer, follower, api, apiFile
    ]
    const stopParts = await startAll(parts.filter((p) => p != null))
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        log.info('stopping')
        await stopParts()
        await releaseLock()
        resolveStopped()
      })()
      return stopping
    }
    log.info('cell started', { router: router.port, api: api.port, dns: dns.port, peer: organism.get().self })
    return { paths, genome, routerPort: router.port, apiPort: api.port, organism: organism.get(), status, move: async (fn, to, signed) => await mover.get().move(fn, to, { signed }), stopped, stop }
  } catch (err) {
    await releaseLock()
    throw err
  }
}
