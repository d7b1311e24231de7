// A cell's part in replication: a replicator for each replicated function it owns, the receiver of the copies it
// holds for others, and the takeover of a function whose owner's lease is gone, by the cell holding its copy.
import { logger } from '../core/log.ts'
import { isOrganismError } from '../core/errors.ts'
import type { Startable } from '../core/lifecycle.ts'
import { takeoverAsk } from './choose.ts'
import { replayJournal } from './journal.ts'
import { fnLocks } from './locks.ts'
import { receiveReplicas } from './receiver.ts'
import { createReplicator } from './replicator.ts'
import type { Replicator, ReplicatorOptions } from './replicator.ts'
import type { ReplicaPorts, ReplicaStatus, ReplicatedFunction } from './ports.ts'

const log = logger('replica')

export interface Replication extends Startable {
  /** What a write's answer waits for: null when fn keeps no replica from here (nothing to wait for). */
  commit: (fn: string) => Promise<void> | null
  /** fn's replication as its owner sees it; null where fn is not replicated or not owned here. */
  /** Resolves once no takeover or batch holds fn's data dir: what a function waits for before it starts. */
  settled: (fn: string) => Promise<void>
  status: (fn: string) => ReplicaStatus | null
}

export interface ReplicationOptions extends ReplicatorOptions {
  /** How often the holder of a copy asks whether the owner's lease is gone (default 250 ms). */
  takeoverCheckMs?: number
  /**
   * No takeover in this long after the cell starts (default 10 s): after every cell restarted at once, an owner
   * gets the time to take its lease again before its replica takes its functions (which would be safe, but moves
   * every function for nothing).
   */
  startGraceMs?: number
}

export function createReplication (ports: ReplicaPorts, functions: readonly ReplicatedFunction[], opts: ReplicationOptions = {}): Replication {
  const { self, clock } = ports
  const locks = fnLocks()
  const replicators = new Map<string, Replicator>()
  const taking = new Set<string>()
  const stops: Array<() => void> = []
  let stopped = false
  const byName = new Map(functions.map((f) => [f.name, f]))
  const receiver = receiveReplicas(ports, new Set(functions.map((f) => f.name)), locks)

  // A replicator exactly for each replicated function this cell owns (the genome allows replicas: 2 only when stateful).
  const tendOne = (f: ReplicatedFunction): void => {
    if (stopped) return
    const mine = f.replicas === 2 && ports.placement(f.name)?.owner === self
    const r = replicators.get(f.name)
    if (mine && r == null) replicators.set(f.name, createReplicator(f, ports, opts))
    if (!mine && r != null) { r.close(); replicators.delete(f.name) }
  }
  const tend = (): void => { for (const f of functions) tendOne(f) }

  // The store decides; this cell only asks, when it is the one that should (the copy's holder, or for a function
  // without data the first live cell). A refusal while the owner's lease holds is the normal answer.
  let startedAt = 0
  const lookForTakeovers = (): void => {
    if (stopped || clock.now() - startedAt < (opts.startGraceMs ?? 10_000)) return
    const live = ports.live()
    for (const f of functions) {
      const p = ports.placement(f.name)
      if (p == null || taking.has(f.name)) continue
      const ask = takeoverAsk(p, self, f.stateful, live)
      if (ask == null) continue
      taking.add(f.name)
      void locks.with(f.name, async () => {
        const expelled = ports.expelled?.(p.owner) === true
        const quarantined = !expelled && ports.quarantined?.(p.owner) === true
        // An expelled or quarantined owner's lease counts for nothing: this cell checked why itself.
        const done = await ports.change(f.name, { kind: 'takeover', by: self, epoch: p.epoch, force: ask.kind === 'stateless', ...expelled || quarantined ? { ownerExpelled: true } : {} })
        // Every acknowledged batch is in the segments: the stream from the old owner ends, and they go into the files
        // before the function starts (it waits for this lock: settled()).
        if (ask.kind === 'replica') { receiver.halt(f.name); await replayJournal(ports.dataDir(f.name)) }
        ports.note(`${f.name} taken over from ${ports.nameOf(p.owner)} (${expelled ? 'it was expelled' : quarantined ? 'it was quarantined' : 'its lease expired'}; epoch ${done.epoch}${ask.kind === 'replica' ? ', with the data of its replica here' : ''})`)
        tend()
      }).catch((err: unknown) => {
        const why = isOrganismError(err, 'OWNERSHIP_REFUSED') ? (err.details as { why?: string }).why : null
        if (why !== 'owner-alive' && why !== 'conflict') log.info('takeover not done', { fn: f.name, err })
      }).finally(() => { taking.delete(f.name) })
    }
  }

  return {
    name: 'replication',
    start: async () => {
      await ports.link.handleStream(ports.protocol, receiver.handle)
      startedAt = clock.now()
      tend()
      stops.push(clock.every(250, tend))
      stops.push(clock.every(opts.takeoverCheckMs ?? 250, lookForTakeovers))
    },
    stop: async () => {
      stopped = true
      for (const s of stops) s()
      for (const r of replicators.values()) r.close()
      replicators.clear()
    },
    commit: (fn) => {
      // Made here if need be: a write answered before the next tend would otherwise skip the replica the store names.
      const f = byName.get(fn)
      if (f != null) tendOne(f)
      const r = replicators.get(fn)
      return r == null ? null : r.commit()
    },
    status: (fn) => replicators.get(fn)?.status() ?? null,
    settled: async (fn) => { await locks.with(fn, async () => {}) }
  }
}
