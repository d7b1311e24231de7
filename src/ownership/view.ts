// One cell's view of the ownership store: every record cached (kept current by the store's watch and a periodic
// re-read), changes applied through the store, and this cell's lease held on it. The store under the view may be
// replaced (a cell alone moves from its local file to etcd) without the view's users noticing.
import { logger } from '../core/log.ts'
import type { Scheduler } from '../core/clock.ts'
import type { Ownership } from './types.ts'
import type { CellLease, OwnershipStore, TransitionRequest } from './store.ts'
import { ownershipError } from './errors.ts'
import { refuseStep, signRecord } from './proof.ts'
import type { RecordSigner, RecordVerify } from './proof.ts'

const log = logger('ownership')

export interface OwnershipView {
  /** Every record as last seen (synchronous: the plan is computed from it on every change). */
  records: () => readonly Ownership[]
  /** fn's record read from the store itself: the truth when a decision depends on it. */
  read: (fn: string) => Promise<Ownership | null>
  /** Applies a transition in the store; the cache has the new record when it resolves. */
  apply: (fn: string, req: TransitionRequest) => Promise<Ownership>
  /** Called after the cache changed; returns the unsubscribe function. */
  onChange: (listener: () => void) => () => void
  /** This cell's lease on the store now (null before one is held). */
  lease: () => CellLease | null
}

export interface StoreView extends OwnershipView {
  /** Puts the view on a store: reads everything, watches it, takes this cell's lease there. */
  attach: (store: OwnershipStore) => Promise<void>
  close: () => Promise<void>
}

const LEASE_TTL_MS = 2000
/** How many changes back a cell that believed nothing yet checks a record (the store keeps the history this far). */
const FIRST_LOOK_CHANGES = 999

export interface StoreViewOptions {
  self: string
  clock: Scheduler
  /**
   * The cell's lease TTL: how long after its death others may take its functions over (default 2 s; etcd renews
   * every lease by its TTL plus the election timeout when its leader changes, so a dead leader costs that again).
   */
  leaseTtlMs?: number
  /** Re-read everything this often, in case a watch missed something (default 5 s). */
  relistMs?: number
  /** How long a read or change waits for a store while the cell is still joining one (default 15 s). */
  attachWaitMs?: number
  /** Signed records (proof.ts): records this cell writes are sealed, records it reads are checked; none in sims. */
  proofs?: ViewProofs
}

export interface ViewProofs {
  readonly signer: RecordSigner
  readonly verify: RecordVerify
  /** Functions without data: any cell may take them by force once their owner is gone. */
  readonly stateless: ReadonlySet<string>
  /** Checks the operator's override a forced takeover carries (its SSH signature, for exactly that takeover). */
  readonly checkOverride: (o: Ownership) => Promise<boolean>
  /** A record refused: what it was, why, and whether this cell wrote its own record back over it. */
  readonly onRejected: (r: Ownership, why: string, restored: boolean) => void
  /** A function's record deleted from the store (nothing honest does that): the last good one, and whether it went back. */
  readonly onDeleted?: (good: Ownership, restored: boolean) => void
}

export function createStoreView (o: StoreViewOptions): StoreView {
  const cache = new Map<string, Ownership>()
  const listeners = new Set<() => void>()
  let store: OwnershipStore | null = null
  let unwatch: (() => void) | null = null
  let lease: CellLease | null = null
  let stopRelist: (() => void) | null = null

  let closed = false
  // A lease the store gave up on (unreachable for two TTLs) is taken again once the store answers: the cell is alive.
  const watchLease = (s: OwnershipStore): void => {
    const held = lease
    held?.onLost(() => {
      void (async () => {
        while (!closed && store === s && lease === held) {
          try { lease = await s.lease(o.self, o.leaseTtlMs ?? LEASE_TTL_MS); watchLease(s); log.info('took a new lease in the ownership store'); return } catch {}
          await new Promise<void>((resolve) => { o.clock.after(1000, resolve) })
        }
      })()
    })
  }
  const changed = (): void => { for (const l of listeners) { try { l() } catch (err) { log.warn('ownership listener failed', { err }) } } }
  const same = (a: Ownership | undefined, b: Ownership): boolean => a != null && JSON.stringify(a) === JSON.stringify(b)
  // One step checked: why `next` may not follow `prev`, or null.
  const stepRefusal = async (prev: Ownership | null, next: Ownership, p: ViewProofs): Promise<string | null> => {
    const why = refuseStep(prev, next, p.verify, p.stateless.has(next.fn))
    if (why != null) return why
    const forcedByOperator = prev != null && next.epoch === prev.epoch + 1 && next.forced === true && !p.stateless.has(next.fn) && prev.replica !== next.owner && !(prev.state === 'moving' && prev.to === next.owner)
    if (forcedByOperator && !await p.checkOverride(next)) return 'its operator override does not verify against the genome\'s allowed_signers'
    return null
  }
  // Why r may not follow the record this cell holds for its function, or null; and the last record of the chain
  // that did check (what to write back over a forgery). Unsigned records are believed only as the first one seen (a
  // store written before records were signed). A cell that missed changes checks each one the store kept.
  const refusal = async (r: Ownership): Promise<{ why: string, lastGood: Ownership | null } | null> => {
    const p = o.proofs
    if (p == null) return null
    const prev = cache.get(r.fn) ?? null
    if (prev == null) {
      if (r.proof == null) return null
      const why = await stepRefusal(null, r, p)
      if (why != null || store?.kind !== 'etcd' || (r.seq ?? 0) <= 1) return why == null ? null : { why, lastGood: null }
      // A cell that believed nothing yet (it just joined or started) checks the chain of changes that leads to the
      // record, from the oldest the store keeps (its first, or the record it was seeded with): a member that writes
      // a record of its own, with or without a history entry, cannot make it believe that record.
      const seq = r.seq ?? 0
      const chain = await store.history(r.fn, Math.max(1, seq - FIRST_LOOK_CHANGES + 1), seq).catch(() => [])
      const unbroken = chain.length > 0 && chain.every((c, i) => i === 0 || (c.seq ?? 0) === (chain[i - 1].seq ?? 0) + 1)
      if (!unbroken || !same(chain[chain.length - 1], r)) return { why: 'the store does not hold the changes that lead to it', lastGood: null }
      let at: Ownership | null = null
      for (const step of chain) {
        const bad = await stepRefusal(at, step, p)
        if (bad != null) return { why: `change ${step.seq ?? '?'} on the way to it: ${bad}`, lastGood: at }
        at = step
      }
      return null
    }
    const gap = (r.seq ?? 0) - (prev.seq ?? 0)
    if (gap <= 1 || store == null) return await stepRefusal(prev, r, p).then((why) => why == null ? null : { why, lastGood: prev })
    const chain = await store.history(r.fn, (prev.seq ?? 0) + 1, r.seq ?? 0).catch(() => [])
    if (chain.length !== gap || !same(chain[chain.length - 1], r)) return { why: `the store does not hold the ${gap} changes that lead to it`, lastGood: null }
    let at = prev
    for (const step of chain) {
      const why = await stepRefusal(at, step, p)
      if (why != null) return { why: `change ${step.seq ?? '?'} on the way to it: ${why}`, lastGood: at }
      at = step
    }
    return null
  }
  // One record at a time, in the order the store gave them: each is checked against the one before.
  let queue: Promise<void> = Promise.resolve()
  const rejected = new Map<string, Ownership>()
  const serial = (work: () => Promise<void>): Promise<void> => { const run = queue.then(work, work); queue = run.catch(() => {}); return run }
  const take = async (r: Ownership): Promise<boolean> => {
    const cur = cache.get(r.fn)
    // Never step back: a late watch event or read must not undo a newer record already seen.
    if (same(cur, r) || (cur != null && (cur.epoch > r.epoch || (cur.seq != null && r.seq != null && r.seq < cur.seq)))) return false
    const refused = await refusal(r)
    if (refused != null) {
      const why = refused.why
      // Said once per forged record, not at every re-read of the store.
      if (same(rejected.get(r.fn), r)) return false
      rejected.set(r.fn, r)
      // Undone at once by whoever sees it: the last record that checked carries its owner's signature, so any cell
      // can write it back (only where the store still holds the forgery). A chain that cannot be checked is not undone.
      const good = refused.lastGood
      const restored = good != null && store != null ? await store.restore(good, r).catch(() => false) : false
      // The legal changes before the forgery are believed (the chain checked up to there).
      const advanced = good != null && !same(cur, good)
      if (advanced) cache.set(r.fn, good)
      try { o.proofs?.onRejected(r, why, restored) } catch {}
      log.warn('refused an ownership record written around the rules', { fn: r.fn, by: r.proof?.by, why, restored })
      return advanced
    }
    cache.set(r.fn, r)
    return true
  }
  const put = (r: Ownership): void => { void serial(async () => { if (await take(r)) changed() }) }
  // A deleted record is written back as this cell last believed it (signed by its owner; a legal state): a member
  // with a store certificate cannot make a function look unowned. Only where the store still holds nothing for it.
  const gone = (fn: string): void => {
    void serial(async () => {
      const good = cache.get(fn)
      if (good == null || store == null) return
      const restored = await store.restore(good, null).catch(() => false)
      try { o.proofs?.onDeleted?.(good, restored) } catch {}
      log.warn('an ownership record was deleted from the store around the rules', { fn, restored })
    })
  }
  const relist = async (): Promise<void> => {
    const s = store
    if (s == null) return
    const all = await s.list()
    await serial(async () => {
      let differs = false
      for (const r of all) if (await take(r)) differs = true
      const listed = new Set(all.map((r) => r.fn))
      for (const fn of cache.keys()) if (!listed.has(fn)) gone(fn)
      if (differs) changed()
    })
  }
  const seal = o.proofs == null ? undefined : (r: Ownership): Ownership => signRecord(r, (o.proofs as ViewProofs).signer)
  // A record found in the store is built on only if this cell believes it (it holds it, or it is a legal next step).
  const accept = async (r: Ownership): Promise<boolean> => {
    if (same(cache.get(r.fn), r) || await refusal(r) == null) return true
    await serial(async () => { await take(r) })
    return false
  }
  // A cell that just joined gets its store a moment later (its certificate comes over the member link): a change or a
  // read asked for meanwhile waits for it, within a bound, instead of failing at once.
  let attached: () => void = () => {}
  const whenAttached = new Promise<void>((resolve) => { attached = resolve })
  const current = async (): Promise<OwnershipStore> => {
    if (store != null) return store
    const cancel: Array<() => void> = []
    await Promise.race([whenAttached, new Promise<void>((resolve) => { cancel.push(o.clock.after(o.attachWaitMs ?? 15_000, resolve)) })])
    for (const c of cancel) c()
    if (store == null || closed) throw ownershipError('OWNERSHIP_UNAVAILABLE', closed ? 'this cell is stopping' : 'this cell has no ownership store yet (it is still joining the organism\'s store)')
    return store
  }

  return {
    records: () => [...cache.values()],
    read: async (fn) => {
      const r = await (await current()).get(fn)
      // The store's word, unless it is a record this cell refuses: then what this cell believes.
      return r == null || same(cache.get(fn), r) || await refusal(r) == null ? r : cache.get(fn) ?? null
    },
    apply: async (fn, req) => {
      const next = await (await current()).apply(fn, req, { seal, accept })
      put(next)
      await queue
      return next
    },
    onChange: (l) => { listeners.add(l); return () => { listeners.delete(l) } },
    lease: () => lease,
    attach: async (next) => {
      unwatch?.()
      const old = lease
      unwatch = await next.watch(put, gone)
      const previous = store
      store = next
      try {
        await relist()
        lease = await next.lease(o.self, o.leaseTtlMs ?? LEASE_TTL_MS)
      } catch (err) {
        store = previous
        throw err
      }
      attached()
      watchLease(next)
      await old?.release()
      stopRelist ??= o.clock.every(o.relistMs ?? 5000, () => { void relist().catch((err: unknown) => { log.debug('could not re-read the ownership store', { err }) }) })
    },
    close: async () => {
      closed = true
      // Whoever still waits for a store is woken: it finds none and gives up (no timer outlives the view).
      attached()
      stopRelist?.()
      stopRelist = null
      unwatch?.()
      unwatch = null
      await lease?.release()
      lease = null
      listeners.clear()
    }
  }
}
