// Two or three cells' replication parts in one process: a real ownership store (the local one, in memory), real
// data dirs on disk, and a link fake that pairs in-memory duplex streams (the peer link is tested on its own).
import { duplexPair } from 'node:stream'
import type { Duplex } from 'node:stream'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { realClock } from '../../src/core/clock.ts'
import { waitFor } from '../helpers/cell-process.ts'
import { openLocalStore } from '../../src/ownership/index.ts'
import type { Ownership, OwnershipStore } from '../../src/ownership/index.ts'
import { createReplication } from '../../src/replica/index.ts'
import type { Replication, ReplicaPorts, ReplicatedFunction } from '../../src/replica/index.ts'
import type { PlacementView } from '../../src/state/index.ts'

const asView = (o: Ownership): PlacementView => ({ ...o, version: o.epoch })

export interface TestCell { id: string, root: string, replication: Replication, ports: ReplicaPorts, running: Set<string>, down: boolean, release: () => Promise<void> }

export interface AddOptions {
  functions?: ReplicatedFunction[]
  waitMs?: number
  bulk?: boolean
  /** No takeover in this long after start (default 0). */
  startGraceMs?: number
}

export interface Rig {
  store: OwnershipStore
  cells: Map<string, TestCell>
  /** Records as the store holds them now (the cells' cache). */
  records: Map<string, Ownership>
  add: (id: string, opts?: AddOptions) => Promise<TestCell>
  /** The cell is gone for the others: its streams fail and it is no longer counted live. */
  kill: (id: string) => Promise<void>
  refresh: () => Promise<void>
}

export const forum: ReplicatedFunction = { name: 'forum', stateful: true, replicas: 2, durability: 'sync' }

export async function rig (t: TestContext): Promise<Rig> {
  const store = await openLocalStore(null)
  const base = mkdtempSync(join(tmpdir(), 'organism-replica-'))
  const cells = new Map<string, TestCell>()
  const records = new Map<string, Ownership>()
  const streams = new Map<string, Set<Duplex>>()
  const handlers = new Map<string, (s: Duplex, from: string) => void>()
  const refresh = async (): Promise<void> => { records.clear(); for (const r of await store.list()) records.set(r.fn, r) }
  await store.watch((o) => { records.set(o.fn, o) })
  t.after(async () => {
    for (const c of cells.values()) await c.replication.stop()
    for (const set of streams.values()) for (const s of set) s.destroy()
    await store.close()
    rmSync(base, { recursive: true, force: true })
  })
  const track = (id: string, s: Duplex): void => { let set = streams.get(id); if (set == null) { set = new Set(); streams.set(id, set) } set.add(s) }
  const add = async (id: string, opts: AddOptions = {}): Promise<TestCell> => {
    const root = join(base, id)
    const running = new Set<string>()
    const ports: ReplicaPorts = {
      self: id,
      protocol: '/test/replica',
      link: {
        openStream: async (peer) => {
          const h = handlers.get(peer)
          if (h == null || cells.get(peer)?.down === true) throw new Error(`${peer} is unreachable`)
          const [mine, theirs] = duplexPair()
          track(id, mine); track(peer, theirs)
          h(theirs, id)
          return mine
        },
        handleStream: async (_p, h) => { handlers.set(id, h) }
      },
      placement: (fn) => { const r = records.get(fn); return r == null ? undefined : asView(r) },
      placements: () => [...records.values()].map(asView),
      read: async (fn) => { const r = await store.get(fn); return r == null ? undefined : asView(r) },
      change: async (fn, req) => { const r = await store.apply(fn, req); records.set(fn, r); return asView(r) },
      live: () => [...cells.values()].filter((c) => !c.down).map((c) => c.id),
      busy: (fn) => running.has(fn),
      dataDir: (fn) => join(root, 'functions', fn, 'data'),
      bulk: opts.bulk === true ? { bindHost: '127.0.0.1', advertise: '127.0.0.1' } : null,
      note: () => {},
      nameOf: (x) => x,
      clock: realClock
    }
    const replication = createReplication(ports, opts.functions ?? [forum], { waitMs: opts.waitMs ?? 3000, tickMs: 200, takeoverCheckMs: 100, startGraceMs: opts.startGraceMs ?? 0 })
    const lease = await store.lease(id, 3000)
    const cell: TestCell = { id, root, replication, ports, running, down: false, release: lease.release }
    cells.set(id, cell)
    await replication.start()
    return cell
  }
  const kill = async (id: string): Promise<void> => {
    const c = cells.get(id)
    if (c == null) return
    c.down = true
    await c.replication.stop()
    await c.release()
    for (const s of streams.get(id) ?? []) s.destroy()
  }
  return { store, cells, records, add, kill, refresh }
}

/** Polls until check() is true, bounded (the shared waitFor, for synchronous checks). */
export async function until (what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  await waitFor(what, async () => await check(), { tries: Math.ceil(ms / 25), everyMs: 25 })
}
