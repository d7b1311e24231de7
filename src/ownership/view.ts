// One cell's view of the ownership store: every record cached (kept current by the store's watch and a periodic
// re-read), changes applied through the store, and this cell's lease held on it. The store under the view may be
// replaced (a cell alone moves from its local file to etcd) without the view's users noticing.
import { logger } from '../core/log.ts'
import type { Scheduler } from '../core/clock.ts'
import type { Ownership } from './types.ts'
import type { CellLease, OwnershipStore, TransitionRequest } from './store.ts'
import { ownershipError } from './errors.ts'

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

export interface StoreViewOptions {
  self: string
  clock: Scheduler
  /** The cell's lease TTL: how long after its death others may take its functions over (default 3 s). */
  leaseTtlMs?: number
  /** Re-read everything this often, in case a watch missed something (default 5 s). */
  relistMs?: number
  /** How long a read or change waits for a store while the cell is still joining one (default 15 s). */
  attachWaitMs?: number
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
          try { lease = await s.lease(o.self, o.leaseTtlMs ?? 3000); watchLease(s); log.info('took a new lease in the ownership store'); return } catch {}
          await new Promise<void>((resolve) => { o.clock.after(1000, resolve) })
        }
      })()
    })
  }
  const changed = (): void => { for (const l of listeners) { try { l() } catch (err) { log.warn('ownership listener failed', { err }) } } }
  const put = (r: Ownership): void => {
    const cur = cache.get(r.fn)
    // Never step back: a late watch event or read must not undo a newer record already seen.
    if (cur != null && (cur.epoch > r.epoch || (cur.epoch === r.epoch && JSON.stringify(cur) === JSON.stringify(r)))) return
    cache.set(r.fn, r)
    changed()
  }
  const relist = async (): Promise<void> => {
    const s = store
    if (s == null) return
    const all = await s.list()
    let differs = false
    for (const r of all) {
      const cur = cache.get(r.fn)
      if (cur == null || JSON.stringify(cur) !== JSON.stringify(r)) { cache.set(r.fn, r); differs = true }
    }
    if (differs) changed()
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
    read: async (fn) => await (await current()).get(fn),
    apply: async (fn, req) => {
      const next = await (await current()).apply(fn, req)
      put(next)
      return next
    },
    onChange: (l) => { listeners.add(l); return () => { listeners.delete(l) } },
    lease: () => lease,
    attach: async (next) => {
      unwatch?.()
      const old = lease
      unwatch = await next.watch(put)
      const previous = store
      store = next
      try {
        await relist()
        lease = await next.lease(o.self, o.leaseTtlMs ?? 3000)
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
