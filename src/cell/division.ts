// Division, as this cell does it: on command (`cell divide`) and by itself (the driver in divide/), onto a pool host,
// with what a division copies prepared ahead of time once the pool has a host to grow onto.
import { homedir } from 'node:os'
import { join } from 'node:path'
import { logger } from '../core/log.ts'
import { git } from '../genome/git.ts'
import type { Scheduler } from '../core/clock.ts'
import type { Genome } from '../genome/types.ts'
import { loadPool } from '../imprint/index.ts'
import type { ImprintTarget, PoolHost } from '../imprint/index.ts'
import { createDivisionDriver, functionToHandOff, freePoolHost } from '../divide/index.ts'
import type { DivisionDriver, FunctionReading } from '../divide/index.ts'
import type { Mover } from '../migrate/index.ts'
import type { Organism } from '../organism/index.ts'
import { divideOnto, prepareDivision } from './divide-onto.ts'
import type { DivideResult } from './divide-onto.ts'
import type { InstanceScaler } from './scale.ts'
import type { MoveResult } from '../migrate/index.ts'
import type { Startable } from '../core/lifecycle.ts'
import { createReplacer } from './replace.ts'
import type { ReplaceView } from './replace.ts'

const log = logger('division')

/** Hosts beyond the pool files, with their own way in (the demo's hosts on this machine). */
export interface ExtraPool {
  readonly hosts: readonly PoolHost[]
  readonly targetFor: (host: PoolHost) => ImprintTarget | null
  readonly privateKey: string | null
}

export interface DivisionDeps {
  stateDir: string
  genome: Genome
  genomeRepo: string
  /** The cell's own store of verified commits: what a new cell is imprinted from when an update came from a peer. */
  mirror: string
  /** The commit this cell runs now. */
  commit: () => string
  clock: Scheduler
  organism: () => Organism
  mover: () => Mover
  admitToken: (ttlMs: number) => string
  rps: (fn: string) => number
  readings: () => FunctionReading[]
  ports: () => { router: number, dns: number }
  identityFile?: string
  extraPool?: ExtraPool
  /** How many cells run each stateless function; asked for more when one is too busy here. */
  scaler?: Pick<InstanceScaler, 'growth' | 'grow'>
  /** What the immune system says of the peers and of this cell, and the genome's bound: a quarantined cell is replaced. */
  immune: { view: () => Pick<ReplaceView, 'quarantinedFor' | 'distrusted' | 'selfTrusted'>, replaceAfterMs: () => number | null }
}

export interface Division {
  /** One division onto hostUrl handing off fn (default: the busiest local function). */
  divide: (hostUrl: string, fn: string | null, identity: string | null, progress: (line: string) => void) => Promise<DivideResult>
  /** Imprints a free pool host that joins with no function handed to it (in a quarantined cell's place); null: none free. */
  replace: (reason: string, signal?: AbortSignal) => Promise<string | null>
  /** Divides by itself when the genome's limits are passed for its window. */
  readonly driver: DivisionDriver
  /** Replaces, by itself, a cell quarantined for the genome's bound (replace.ts). */
  readonly replacer: Startable
}

export function createDivision (d: DivisionDeps): Division {
  const genomeHostsFile = d.genome.hostPool != null ? join(d.genome.root, d.genome.hostPool) : undefined
  const pool = async (): Promise<PoolHost[]> => [...await loadPool(d.stateDir, genomeHostsFile), ...d.extraPool?.hosts ?? []]
  const tried = new Set<string>()
  const freeHost = async (): Promise<string | null> =>
    freePoolHost(await pool(), d.organism().cells().map((c) => c.record?.body.addrs.router), tried)

  const spread = new Set(d.genome.functions.filter((f) => f.instances != null).map((f) => f.name))
  /**
   * A stateless function is not handed off: the new cell runs one more instance of it (asked for before the new cell
   * exists), and the division is done once the new cell's record says it serves it.
   */
  const instanceAt = async (fn: string, to: string): Promise<MoveResult> => {
    const started = d.clock.now()
    for (let i = 0; i < 240; i++) {
      const cell = d.organism().cells().find((c) => c.peer === to || c.record?.body.name === to)
      if (cell?.record?.body.functions.includes(fn) === true) return { fn, from: d.organism().self, to: cell.peer, epoch: 0, bytes: 0, sha256: '', ms: d.clock.now() - started }
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    throw new Error(`the new cell ${to} did not start an instance of ${fn} within 60 s (see its \`cell status\`)`)
  }

  /** The genome repo if it holds the commit this cell runs, else the cell's own store (an update from a peer). */
  const repoWith = async (commit: string): Promise<{ genomeRepo: string, commit: string }> => {
    const there = await git(d.genomeRepo, ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null', 'cat-file', '-e', `${commit}^{commit}`]).then((r) => r.code === 0, () => false)
    return { genomeRepo: there ? d.genomeRepo : d.mirror, commit }
  }

  /** Imprints hostUrl and hands the new cell fn (none: it only joins). */
  const onto = async (hostUrl: string, fn: string | null, identity: string | null, progress: (line: string) => void, signal?: AbortSignal): Promise<DivideResult> => {
    const org = d.organism()
    const ports = d.ports()
    return await divideOnto({
      stateDir: d.stateDir, hostUrl, genomeHostsFile, identityFile: identity ?? d.identityFile ?? join(homedir(), '.ssh', 'id_ed25519'),
      extraHosts: d.extraPool?.hosts, targetFor: d.extraPool?.targetFor, extraKey: d.extraPool?.privateKey,
      ...await repoWith(d.commit()), organism: d.genome.organism, self: org.self, fn,
      routerPort: ports.router, dnsPort: ports.dns, peerPort: d.genome.peerPort,
      token: async () => d.admitToken(10 * 60_000),
      move: async (f, to) => spread.has(f) ? await instanceAt(f, to) : await d.mover().move(f, to),
      cells: () => org.cellRefs(),
      onProgress: (e) => { progress(`${e.step} ${e.phase}${e.ms != null ? ` ${e.ms} ms` : ''}${e.detail != null ? ` ${e.detail}` : ''}`) },
      signal
    })
  }

  const divide: Division['divide'] = async (hostUrl, fn, identity, progress) => {
    const org = d.organism()
    // Without a function named: the busiest one this cell owns, else the busiest stateless one it runs.
    const pick = fn ?? functionToHandOff([...org.plan().owned], d.rps) ?? functionToHandOff([...org.plan().local].filter((f) => spread.has(f)), d.rps)
    if (pick == null) throw new Error('this cell runs no function to hand off')
    if (spread.has(pick)) d.scaler?.grow(pick, org.cells())
    const r = await onto(hostUrl, pick, identity, progress)
    org.note({ kind: 'join', text: `divided onto ${r.cell}: ${spread.has(pick) ? `it runs an instance of ${pick}` : `${pick} handed off`} in ${r.ms} ms` })
    return r
  }

  const replace: Division['replace'] = async (reason, signal) => {
    const url = await freeHost()
    if (url == null) return null
    tried.add(url)
    d.organism().note({ kind: 'info', text: `imprinting ${url}: ${reason}` })
    // A host that failed (unreachable, a port taken) is tried again on the next attempt, not counted as claimed.
    return (await onto(url, null, null, (line) => { log.info(`replace: ${line}`) }, signal).catch((err: unknown) => { tried.delete(url); throw err })).cell
  }

  // With hosts to grow onto, what imprint copies is made now (and when a host is added) rather than in a division's path.
  let preparing: Promise<void> | null = null
  const prepare = (): void => {
    preparing ??= prepareDivision(d.stateDir).catch((err: unknown) => { preparing = null; log.warn('could not prepare what a division copies', { err }) })
  }
  const driver = createDivisionDriver({
    limits: d.genome.division,
    clock: d.clock,
    readings: d.readings,
    localFunctions: () => [...d.organism().plan().owned],
    instances: () => d.scaler?.growth(d.organism().cells(), new Set(d.readings().map((r) => r.name))) ?? [],
    addInstance: (fn, reason) => {
      d.scaler?.grow(fn, d.organism().cells())
      d.organism().note({ kind: 'info', text: `asked for one more instance of ${fn}: ${reason}` })
    },
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
      await divide(url, fn, null, (line) => { log.info(`divide: ${line}`) })
    }
  })
  const replacer = createReplacer({
    file: join(d.stateDir, 'replaced.json'),
    clock: d.clock,
    view: () => ({ self: d.organism().self, cells: d.organism().cells(), afterMs: d.immune.replaceAfterMs(), ...d.immune.view() }),
    nameOf: (peer) => d.organism().nameOf(peer),
    note: (e) => { d.organism().note(e) },
    imprint: async (_peer, reason, signal) => await replace(reason, signal)
  })
  return {
    divide,
    replace,
    replacer,
    driver: {
      ...driver,
      start: async () => {
        await driver.start()
        void freeHost().then((url) => { if (url != null) prepare() }).catch(() => {})
      },
      // A preparation under way (esbuild, zstd) finishes before the cell is gone: it writes beside the state.
      stop: async () => { await driver.stop(); await preparing }
    }
  }
}
