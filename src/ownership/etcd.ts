// The ownership store of an organism of several cells: etcd (through the etcd3 client). A transition reads the
// record, applies rules.ts, and commits only if the record is unchanged (and, for a takeover, the owner's lease key
// is gone), so concurrent changes of one function serialize in etcd's log. Each cell holds a lease with its key.
import { Etcd3 } from 'etcd3'
import type { Namespace } from 'etcd3'
import type { Clock } from '../core/clock.ts'
import { realClock } from '../core/clock.ts'
import { isOrganismError } from '../core/errors.ts'
import { ownershipError } from './errors.ts'
import { transition, mayServe } from './rules.ts'
import type { Ownership, Transition } from './types.ts'
import type { CellLease, OwnershipStore } from './store.ts'

export interface EtcdStoreOptions {
  endpoints: string[]
  organism: string
  clock?: Clock
  /** Mutual TLS: the organism's CA, and this cell's certificate and key. */
  tls?: { ca: Buffer, cert: Buffer, key: Buffer }
  /** Per call (default 3 s): a store that cannot answer is unavailable, not slow. */
  timeoutMs?: number
}

const fnKey = (fn: string): string => `fn/${fn}`
// Each change of a record also kept by its number: hist/<fn>/<seq, zero-padded so that keys sort by number>.
const histKey = (fn: string, seq: number): string => `hist/${fn}/${String(seq).padStart(16, '0')}`
const MAX_HISTORY = 1000
const cellKey = (cell: string): string => `cell/${cell}`
const MAX_TRIES = 8

function parse (value: Buffer | string): Ownership {
  return JSON.parse(value.toString()) as Ownership
}

const tampered = (fn: string): Error => ownershipError('OWNERSHIP_TAMPERED', `${fn}'s record in the store was written around the rules (not a legal step from the last one this cell accepted); it is not built on`, { details: { fn } })

/** A failure of etcd itself (no leader, unreachable, timed out) is OWNERSHIP_UNAVAILABLE; our own refusals pass. */
function unavailable (err: unknown): Error {
  if (isOrganismError(err)) return err
  return ownershipError('OWNERSHIP_UNAVAILABLE', `the ownership store did not answer: ${(err as Error).message}`, { cause: err })
}

export async function openEtcdStore (o: EtcdStoreOptions): Promise<OwnershipStore> {
  const clock = o.clock ?? realClock
  const client = new Etcd3({
    hosts: o.endpoints,
    credentials: o.tls == null ? undefined : { rootCertificate: o.tls.ca, certChain: o.tls.cert, privateKey: o.tls.key },
    // Calls, not streams (watches, keepalives), get a deadline.
    defaultCallOptions: (ctx) => ctx.isStream ? {} : { deadline: Date.now() + (o.timeoutMs ?? 3000) }
  })
  const ns: Namespace = client.namespace(`/organism/${o.organism}/`)
  const guard = async <T>(work: () => Promise<T>): Promise<T> => { try { return await work() } catch (err) { throw unavailable(err) } }
  // Leases still renewed by this client: close() stops renewing them (they then expire as a dead cell's do).
  const held = new Set<{ release: () => void }>()
  const alive = async (cell: string): Promise<boolean> => await guard(async () => await ns.get(cellKey(cell)).exists())

  return {
    kind: 'etcd',
    list: async () => await guard(async () => Object.values(await ns.getAll().prefix('fn/').strings()).map(parse)),
    get: async (fn) => await guard(async () => { const v = await ns.get(fnKey(fn)).string(); return v == null ? null : parse(v) }),
    apply: async (fn, req, opts) => await guard(async () => {
      for (let i = 0; i < MAX_TRIES; i++) {
        const res = await ns.get(fnKey(fn)).exec()
        const kv = res.kvs[0]
        const cur = kv == null ? null : parse(kv.value)
        if (cur != null && opts?.accept != null && !await opts.accept(cur)) throw tampered(fn)
        const ownerAlive = req.kind === 'takeover' && cur != null && req.ownerExpelled !== true ? await alive(cur.owner) : false
        const t: Transition = req.kind === 'takeover' ? { ...req, ownerAlive } : req
        const v = transition(fn, cur, t)
        if (!v.ok) throw ownershipError('OWNERSHIP_REFUSED', v.message, { details: { why: v.why, fn } })
        let txn = kv == null ? ns.if(fnKey(fn), 'Create', '==', 0) : ns.if(fnKey(fn), 'Mod', '==', kv.mod_revision)
        // The owner's lease must still be gone when the takeover commits, not only when we looked (an expelled
        // owner's lease counts for nothing).
        if (req.kind === 'takeover' && cur != null && req.ownerExpelled !== true) txn = txn.and(cellKey(cur.owner), 'Create', '==', 0)
        const next = opts?.seal?.(v.next) ?? v.next
        const done = await txn.then(ns.put(fnKey(fn)).value(JSON.stringify(next)), ns.put(histKey(fn, next.seq ?? 0)).value(JSON.stringify(next))).commit()
        if (done.succeeded) return next
      }
      throw ownershipError('OWNERSHIP_CONFLICT', `${fn}'s record kept changing during ${MAX_TRIES} tries`)
    }),
    lease: async (cell, ttlMs) => await guard(async () => {
      const ttlMs2 = Math.max(1000, ttlMs)
      const lease = ns.lease(Math.ceil(ttlMs2 / 1000))
      held.add(lease)
      let firedAt: number | null = null
      let renewedAt: number | null = null
      let lost = false
      const lostListeners: Array<() => void> = []
      lease.on('keepaliveFired', () => { firedAt = clock.now() })
      lease.on('keepaliveSucceeded', () => { renewedAt = firedAt })
      lease.on('lost', () => { lost = true; renewedAt = null; for (const l of lostListeners) l() })
      const asked = clock.now()
      await lease.grant()
      renewedAt = asked
      await lease.put(cellKey(cell)).value('1').exec()
      const handle: CellLease = {
        lastRenewedAt: () => renewedAt,
        mayServe: (now) => !lost && mayServe(renewedAt, ttlMs2, now),
        onLost: (l) => { lostListeners.push(l) },
        release: async () => { lost = true; renewedAt = null; held.delete(lease); await lease.revoke().catch(() => {}) }
      }
      return handle
    }),
    alive,
    history: async (fn, from, to) => await guard(async () => {
      if (to - from >= MAX_HISTORY || to < from) return []
      const kvs = await ns.getAll().inRange({ start: histKey(fn, from), end: histKey(fn, to + 1) }).strings()
      return Object.keys(kvs).sort().map((k) => parse(kvs[k]))
    }),
    restore: async (good, bad) => await guard(async () => {
      const where = bad == null ? ns.if(fnKey(good.fn), 'Create', '==', 0) : ns.if(fnKey(good.fn), 'Value', '==', JSON.stringify(bad))
      const done = await where.then(ns.put(fnKey(good.fn)).value(JSON.stringify(good))).commit()
      return done.succeeded
    }),
    seed: async (rec) => await guard(async () => {
      await ns.if(fnKey(rec.fn), 'Create', '==', 0).then(ns.put(fnKey(rec.fn)).value(JSON.stringify(rec)), ns.put(histKey(rec.fn, rec.seq ?? 0)).value(JSON.stringify(rec))).commit()
    }),
    watch: async (l, deleted) => await guard(async () => {
      const w = await ns.watch().prefix('fn/').create()
      w.on('put', (kv) => { l(parse(kv.value)) })
      // Nothing of ours deletes a function's record: a delete is someone with a store certificate working around the rules.
      w.on('delete', (kv) => { const key = kv.key.toString(); deleted?.(key.slice(key.lastIndexOf('fn/') + 3)) })
      return () => { void w.cancel().catch(() => {}) }
    }),
    close: async () => {
      for (const l of held) l.release()
      held.clear()
      client.close()
    }
  }
}

/** etcd answers a few hundred ms after it starts: wait, bounded, for a store on it to answer. */
export async function waitUntilAnswers (s: OwnershipStore, boundMs = 20_000): Promise<void> {
  const deadline = Date.now() + boundMs
  for (;;) {
    try { await s.list(); return } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}
