// The ownership store of a cell alone: the records in one file beside its state, changed one at a time through
// rules.ts. No extra process; a lease is alive while this process holds it. Replaced by etcd once a second cell joins.
import { readFile } from 'node:fs/promises'
import { writeFileAtomic } from '../core/atomic-file.ts'
import type { Clock } from '../core/clock.ts'
import { realClock } from '../core/clock.ts'
import { ownershipError } from './errors.ts'
import { transition } from './rules.ts'
import type { Ownership, Transition } from './types.ts'
import type { CellLease, OwnershipStore } from './store.ts'

interface Saved { version: 1, records: Ownership[] }

function isOwnership (v: unknown): v is Ownership {
  const o = v as Partial<Ownership> | null
  return o != null && typeof o.fn === 'string' && typeof o.owner === 'string' && Number.isSafeInteger(o.epoch) && (o.state === 'serving' || o.state === 'moving')
}

async function load (file: string): Promise<Map<string, Ownership>> {
  let text: string
  try { text = await readFile(file, 'utf8') } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map()
    throw err
  }
  let saved: Saved
  try { saved = JSON.parse(text) as Saved } catch (cause) { throw ownershipError('OWNERSHIP_STORE_CORRUPT', `${file} is not JSON`, { cause }) }
  if (!Array.isArray(saved.records) || !saved.records.every(isOwnership)) throw ownershipError('OWNERSHIP_STORE_CORRUPT', `${file} holds no ownership records`)
  return new Map(saved.records.map((r) => [r.fn, r]))
}

/** file null: in memory only (a simulation's one store for every cell). */
export async function openLocalStore (file: string | null, clock: Clock = realClock): Promise<OwnershipStore> {
  const records = file == null ? new Map<string, Ownership>() : await load(file)
  const listeners = new Set<(o: Ownership) => void>()
  const leases = new Set<string>()
  // One change at a time, each written to disk before it is answered: an acknowledged change survives a power cut.
  let queue: Promise<unknown> = Promise.resolve()
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work)
    queue = run.catch(() => {})
    return run
  }
  const save = async (): Promise<void> => {
    if (file == null) return
    await writeFileAtomic(file, JSON.stringify({ version: 1, records: [...records.values()] } satisfies Saved, null, 1), 0o600)
  }
  return {
    kind: 'local',
    list: async () => [...records.values()],
    get: async (fn) => records.get(fn) ?? null,
    apply: async (fn, req, opts) => await serial(async () => {
      const cur = records.get(fn) ?? null
      if (cur != null && opts?.accept != null && !await opts.accept(cur)) throw ownershipError('OWNERSHIP_TAMPERED', `${fn}'s record was written around the rules; it is not built on`, { details: { fn } })
      const t: Transition = req.kind === 'takeover' ? { ...req, ownerAlive: req.ownerExpelled !== true && leases.has(cur?.owner ?? '') } : req
      const v = transition(fn, cur, t)
      if (!v.ok) throw ownershipError('OWNERSHIP_REFUSED', v.message, { details: { why: v.why, fn } })
      const next = opts?.seal?.(v.next) ?? v.next
      records.set(fn, next)
      await save()
      for (const l of listeners) l(next)
      return next
    }),
    // One cell, one view: it never misses a change, so it never asks.
    history: async () => [],
    restore: async (good, bad) => await serial(async () => {
      if (JSON.stringify(records.get(good.fn) ?? null) !== JSON.stringify(bad)) return false
      records.set(good.fn, good)
      await save()
      for (const l of listeners) l(good)
      return true
    }),
    seed: async (o) => await serial(async () => {
      if (records.has(o.fn)) return
      records.set(o.fn, o)
      await save()
    }),
    lease: async (cell): Promise<CellLease> => {
      leases.add(cell)
      return {
        lastRenewedAt: () => leases.has(cell) ? clock.now() : null,
        mayServe: () => leases.has(cell),
        onLost: () => {},
        release: async () => { leases.delete(cell) }
      }
    },
    alive: async (cell) => leases.has(cell),
    watch: async (l) => { listeners.add(l); return () => { listeners.delete(l) } },
    close: async () => { listeners.clear(); await queue }
  }
}
