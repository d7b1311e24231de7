// One owned function's replication loop: picks the replica, fills it, names it in the store, and keeps it current,
// one batch at a time. Writes waiting on commit() are answered together by the next batch (group commit); a replica
// that fails is dropped and another chosen; with no other live cell the function runs alone (and says so).
import { logger } from '../core/log.ts'
import { coalesced } from '../core/coalesce.ts'
import { isOrganismError } from '../core/errors.ts'
import { replicaError } from './errors.ts'
import { betterReplica, chooseReplica } from './choose.ts'
import { closeTarget, connect, sendChanges } from './sender.ts'
import type { Target } from './sender.ts'
import type { ReplicaPorts, ReplicaStatus, ReplicatedFunction } from './ports.ts'

const log = logger('replica')

export interface Replicator {
  /** Resolves once every change made before the call is on the named replica (at once when async or alone). */
  commit: () => Promise<void>
  status: () => ReplicaStatus
  close: () => void
}

interface Waiter { resolve: () => void, reject: (err: Error) => void, cancel: () => void }

export interface ReplicatorOptions {
  /** How long a write's answer waits for its replica before it is answered 503 (default 8 s). */
  waitMs?: number
  /** Batches are also sent this often, changes or not: async writes, and a replica filled before the first write. */
  tickMs?: number
  /** A replica that refused is not asked again for this long (default 2 s: most refusals pass, e.g. a move's end). */
  avoidMs?: number
}

export function createReplicator (fn: ReplicatedFunction, ports: ReplicaPorts, opts: ReplicatorOptions = {}): Replicator {
  const { self, clock } = ports
  let target: (Target & { epoch: number }) | null = null
  let waiters: Waiter[] = []
  let state: ReplicaStatus['state'] = 'catching-up'
  let lastError: string | null = null
  let dirtySince: number | null = null
  let closed = false
  const avoid = new Map<string, number>()
  // A better-placed replica being filled beside the named one; switched to once it is caught up (rebalance).
  let candidate: (Target & { epoch: number, ready: boolean }) | null = null
  const dropCandidate = (why: unknown): void => { closeTarget(candidate, why); candidate = null }
  // Filled outside the batch loop (a large first fill must not hold writes back), until a round sends nothing.
  const fill = async (c: Target & { epoch: number, ready: boolean }): Promise<void> => {
    try {
      for (let round = 0; round < 100 && candidate === c && !closed; round++) {
        if (!await sendChanges(c, ports.dataDir(fn.name), c.epoch)) { c.ready = true; return }
      }
    } catch (err) { if (candidate === c) dropCandidate(err) }
  }
  const rebalance = async (p: { epoch: number, replica?: string }, live: string[]): Promise<void> => {
    if (target == null || !target.named) return
    const better = betterReplica(fn.name, self, target.peer, live, ports.placements())
    if (candidate != null && (candidate.peer !== better || candidate.epoch !== p.epoch)) dropCandidate(null)
    if (better == null) return
    if (candidate == null) {
      const c = Object.assign(await connect(ports, fn.name, p.epoch, better), { epoch: p.epoch, ready: false })
      candidate = c
      void fill(c)
      return
    }
    if (!candidate.ready) return
    // Inside the batch loop, after the named replica's batch: the last changes, then the store names the new one.
    const c = candidate
    try {
      await sendChanges(c, ports.dataDir(fn.name), p.epoch)
      await ports.change(fn.name, { kind: 'replica', by: self, epoch: p.epoch, replica: c.peer })
    } catch (err) { dropCandidate(err); return }
    closeTarget(target, null)
    target = Object.assign(c, { named: true })
    candidate = null
    ports.note(`${fn.name}: its copy moved to ${ports.nameOf(c.peer)}, which held fewer`)
  }

  const step = async (): Promise<void> => {
    const p = ports.placement(fn.name)
    if (p == null || p.owner !== self) throw replicaError('REPLICA_UNAVAILABLE', `this cell does not own ${fn.name} now`)
    const live = ports.live()
    if (target != null && (!live.includes(target.peer) || target.epoch !== p.epoch)) { closeTarget(target, null); target = null }
    if (target == null) {
      const now = clock.now()
      for (const [peer, until] of avoid) if (until <= now) avoid.delete(peer)
      const peer = chooseReplica(fn.name, self, p.replica, live, ports.placements(), new Set(avoid.keys()))
      if (peer == null) {
        // Cells that refused are not "no cell": the write waits (and fails in time) rather than being kept here only.
        if (live.some((c) => c !== self)) throw replicaError('REPLICA_UNAVAILABLE', `every live cell refused to hold ${fn.name}'s replica lately`)
        // No other cell is alive: a replica named in the store would lack the writes accepted from now on.
        if (p.replica != null) await ports.change(fn.name, { kind: 'replica', by: self, epoch: p.epoch, replica: null })
        state = 'alone'
        return
      }
      if (p.replica !== peer) state = 'catching-up'
      target = Object.assign(await connect(ports, fn.name, p.epoch, peer), { epoch: p.epoch })
      target.named = p.replica === peer
    }
    await sendChanges(target, ports.dataDir(fn.name), p.epoch)
    if (!target.named) {
      await ports.change(fn.name, { kind: 'replica', by: self, epoch: p.epoch, replica: target.peer })
      target.named = true
      ports.note(`${fn.name}: a copy of its data is now kept on ${ports.nameOf(target.peer)}`)
    }
    state = 'synced'
    // A rebalance that fails costs nothing but itself: the named replica stays.
    await rebalance(p, live).catch((err: unknown) => { dropCandidate(err) })
  }

  const once = async (): Promise<void> => {
    if (closed) return
    const batch = waiters
    waiters = []
    try {
      await step()
      for (const w of batch) { w.cancel(); w.resolve() }
      dirtySince = waiters.length > 0 ? dirtySince : null
      lastError = null
    } catch (err) {
      // Still waiting: each write gives up on its own deadline.
      waiters = batch.concat(waiters)
      lastError = (err as Error).message
      if (state === 'synced') state = 'failing'
      if (target != null && isOrganismError(err, 'REPLICA_REFUSED')) avoid.set(target.peer, clock.now() + (opts.avoidMs ?? 2000))
      closeTarget(target, err)
      target = null
      dropCandidate(null)
      if (!closed) clock.after(300, run)
    }
  }
  const run = coalesced(once, (err) => { log.warn('replication step failed', { fn: fn.name, err }) })
  const stopTick = clock.every(opts.tickMs ?? 1000, run)

  return {
    commit: async () => {
      if (closed) throw replicaError('REPLICA_UNAVAILABLE', `this cell no longer owns ${fn.name}`)
      dirtySince ??= clock.now()
      if (fn.durability === 'async') { run(); return }
      await new Promise<void>((resolve, reject) => {
        const cancel = clock.after(opts.waitMs ?? 8000, () => {
          waiters = waiters.filter((x) => x !== w)
          reject(replicaError('REPLICA_UNAVAILABLE', `the replica of ${fn.name} did not confirm the write within ${opts.waitMs ?? 8000} ms${lastError != null ? ` (${lastError})` : ''}`))
        })
        const w: Waiter = { resolve, reject, cancel }
        waiters.push(w)
        run()
      })
    },
    status: () => {
      const replica = ports.placement(fn.name)?.replica ?? null
      return { replica, state, lagMs: dirtySince == null ? 0 : Math.max(0, clock.now() - dirtySince), lastError }
    },
    close: () => {
      closed = true
      stopTick()
      closeTarget(target, null)
      target = null
      dropCandidate(null)
      for (const w of waiters) { w.cancel(); w.reject(replicaError('REPLICA_UNAVAILABLE', `this cell no longer owns ${fn.name}`)) }
      waiters = []
    }
  }
}
