// One division: imprint a pool host over SSH, then hand the new cell a function with its data (the cold move).
import { readFile, stat } from 'node:fs/promises'
import { isOrganismError } from '../core/errors.ts'
import { join } from 'node:path'
import { imprint, loadPool, sshTarget, parseHostUrl, imprintError, findRuntimePacks, makeRuntimePacks, buildCellBundle } from '../imprint/index.ts'
import { findEtcd } from '../ownership/index.ts'
import { PIN_FILE, readPin } from '../genome/index.ts'
import type { ImprintResult, ImprintTarget, PoolHost, ProgressEvent } from '../imprint/index.ts'
import type { MoveResult } from '../migrate/index.ts'

export interface DivideOntoOptions {
  stateDir: string
  /** ssh://user@host[:port] of a host in the pool (pinned in `<state>/hosts.yaml` or the genome's hosts file). */
  hostUrl: string
  genomeHostsFile?: string
  identityFile: string
  /** Hosts beyond the pool files (the demo's), and how to reach them when not by SSH with the identity. */
  extraHosts?: readonly PoolHost[]
  targetFor?: (host: PoolHost) => ImprintTarget | null
  /** The SSH key for extraHosts, when they take another than the identity file. */
  extraKey?: string | null
  genomeRepo: string
  commit: string
  organism: string
  self: string
  /** The function to hand the new cell; null: none (it takes the place of a quarantined cell, or runs an instance). */
  fn: string | null
  routerPort: number
  dnsPort: number
  /** The genome's peer port (null: any), for the new host's preflight. */
  peerPort?: number | null
  token: () => Promise<string>
  move: (fn: string, to: string) => Promise<MoveResult>
  /** The organism's cells as this cell sees them: the new cell has called home when its record arrives, alive. */
  cells?: () => ReadonlyArray<{ peer: string, liveness: string, name?: string }>
  onProgress?: (e: DivisionProgress) => void
  signal?: AbortSignal
}

/** Imprint's steps, then the hand-off of the function to the new cell. */
export type DivisionProgress = Omit<ProgressEvent, 'step'> & { readonly step: ProgressEvent['step'] | 'handoff' }

export interface DivideResult { imprint: ImprintResult, move: MoveResult | null, cell: string, ms: number, timings: Record<string, number> }

/** The file imprint copies: this bundle itself when the cell runs from one, else one built from the checkout. */
export async function cellBundle (stateDir: string): Promise<string> {
  const running = process.argv[1] ?? ''
  if (running.endsWith('.mjs')) return running
  const out = join(stateDir, 'cell.mjs')
  const fresh = await stat(out).then((s) => Date.now() - s.mtimeMs < 10 * 60_000, () => false)
  if (!fresh) await buildCellBundle(out)
  return out
}

/** Where the packed runtime is kept, beside the cell's state. */
const runtimeCache = (stateDir: string): string => join(stateDir, 'runtime')

/**
 * What a division copies, made ahead of it when the pool has a host to grow onto: the cell bundle and the runtime
 * packed with zstd (packing 127 MB takes seconds of CPU: too long to spend inside a division, which copies the binary
 * as it is when no pack fits). A gzip pack is made only once a host turns out to lack zstd (~4 s of CPU).
 */
export async function prepareDivision (stateDir: string): Promise<void> {
  await cellBundle(stateDir)
  await makeRuntimePacks(runtimeCache(stateDir), process.execPath, ['zstd'])
}

/** A DNS label for the new cell from its host: ssh://org@10.0.0.7 -> c-10-0-0-7. */
export function cellNameFor (host: string): string {
  return `c-${host.replace(/[^a-zA-Z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase()}`.slice(0, 63)
}

/**
 * Where the new cell listens: every address on a host of its own, but only its own address on a loopback
 * host, which shares this machine's ports with its neighbours (the demo's 127.0.x.y hosts). A `listen` label wins.
 */
export function listenAddressFor (host: PoolHost): string {
  return host.labels.listen ?? (/^127\./.test(host.host) ? host.host : '0.0.0.0')
}

export async function findPoolHost (stateDir: string, url: string, genomeHostsFile?: string, extra: readonly PoolHost[] = []): Promise<PoolHost> {
  const named = extra.find((h) => h.url === url)
  if (named != null) return named
  const want = parseHostUrl(url)
  const pool = [...await loadPool(stateDir, genomeHostsFile), ...extra]
  const host = pool.find((h) => h.host === want.host && h.port === want.port && h.user === want.user)
  if (host == null) throw imprintError('IMPRINT_HOST_KEY_UNKNOWN', `${url} is not in the host pool, so its host key is not pinned`, { hint: `Pin it first: cell hosts add ${url} --host-key SHA256:… (or --accept-new-host-key to trust on first use).` })
  return host
}

export async function divideOnto (opts: DivideOntoOptions): Promise<DivideResult> {
  const started = Date.now()
  const host = await findPoolHost(opts.stateDir, opts.hostUrl, opts.genomeHostsFile, opts.extraHosts)
  const isExtra = opts.extraHosts?.includes(host) === true
  const target = opts.targetFor?.(host) ?? sshTarget(host, isExtra && opts.extraKey != null ? opts.extraKey : await readFile(opts.identityFile))
  const bundlePath = await cellBundle(opts.stateDir)
  const name = cellNameFor(host.host)
  // A cell that lived on this host before has the same name: only a peer unknown when we began is the new one.
  const before = new Set(opts.cells?.().map((c) => c.peer))
  const calledHome = opts.cells == null ? undefined : () => {
    const cells = opts.cells?.() ?? []
    const born = cells.find((c) => c.name === name && c.liveness === 'alive' && !before.has(c.peer))
    return born == null ? null : { cellId: born.peer, members: cells.filter((c) => c.liveness === 'alive').length }
  }
  const result = await imprint(target, {
    genomeRepo: opts.genomeRepo,
    commit: opts.commit,
    bundlePath,
    runtimePacks: await findRuntimePacks(runtimeCache(opts.stateDir), process.execPath),
    // The new cell may be asked to vote in the ownership store: it gets our etcd if its host has none.
    etcdBinary: await findEtcd().catch(() => null),
    token: opts.token,
    pin: await readPin(join(opts.stateDir, PIN_FILE)).catch(() => null),
    claimant: { organism: opts.organism, cell: opts.self },
    cell: { name, advertise: host.host, listen: listenAddressFor(host), routerPort: opts.routerPort, dnsPort: opts.dnsPort, peerPort: opts.peerPort ?? 0 },
    transient: host.labels.service === 'transient',
    signal: opts.signal,
    onProgress: opts.onProgress,
    calledHome
  })
  if (!result.hostTools.zstd && result.hostTools.gzip) {
    void makeRuntimePacks(runtimeCache(opts.stateDir), process.execPath, ['gzip']).catch(() => { /* the next division copies the binary as is */ })
  }
  if (opts.fn == null) return { imprint: result, move: null, cell: name, ms: Date.now() - started, timings: { ...result.timings } as Record<string, number> }
  const fn = opts.fn
  const handoffStarted = Date.now()
  opts.onProgress?.({ step: 'handoff', phase: 'start', detail: `${fn} to ${name}` })
  // The new cell is a member now; moving to it waits until its record has reached us (at once when it called home here).
  let moved: MoveResult | null = null
  for (let i = 0; moved == null; i++) {
    try { moved = await opts.move(fn, result.cellId !== '' ? result.cellId : name) } catch (err) {
      if (i >= 20 || !isOrganismError(err, 'MIGRATE_UNKNOWN_CELL')) throw err
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  const handoff = Date.now() - handoffStarted
  opts.onProgress?.({ step: 'handoff', phase: 'done', ms: handoff })
  return { imprint: result, move: moved, cell: name, ms: Date.now() - started, timings: { ...result.timings, handoff } as Record<string, number> }
}
