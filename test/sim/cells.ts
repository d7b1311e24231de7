// N complete cell control planes in one process: the real organism (state sync, SWIM, placement plan), the real mover
// and reconciler and division driver, over the simulated network and time, with fake function hosts. Cells can be
// killed, restarted (a fresh process: nothing in memory), cut apart and healed. Every placement claim is recorded
// by its writer, so a checker can prove that no epoch of a function ever had two owners.
import { startOrganism, protocols } from '../../src/organism/index.ts'
import type { Organism } from '../../src/organism/index.ts'
import { createMover } from '../../src/migrate/index.ts'
import type { Mover } from '../../src/migrate/index.ts'
import { createDivisionDriver } from '../../src/divide/index.ts'
import type { DivisionDriver } from '../../src/divide/index.ts'
import type { DivisionLimits } from '../../src/genome/types.ts'
import { fakeSignatureSigner, fakeSignatureVerify, seededRng } from '../../src/state/index.ts'
import { openLocalStore, createStoreView } from '../../src/ownership/index.ts'
import type { OwnershipStore, StoreView } from '../../src/ownership/index.ts'
import type { Rng } from '../../src/state/rng.ts'
import type { Startable } from '../../src/core/lifecycle.ts'
import { createReconciler } from '../../src/cell/wiring.ts'
import { SimTime } from './time.ts'
import type { TimerGroup } from './time.ts'
import { SimNet } from './net.ts'
import { FakeFunctionHost, fakeDataMover, fakeOperatorAuthorize } from './host.ts'

export interface SimCellsOptions {
  /** Cells that are members from the start (cell 0 founds the organism and owns every function). */
  n: number
  /** Cells outside the organism at first, for divisions to grow onto. */
  spare?: number
  functions: readonly string[]
  seed: number
  loss?: number
  /** Each cell signs its own record at start (n² records in all: keep n small). */
  ownRecords?: boolean
  division?: DivisionLimits
}

export interface Claim { at: number, cell: string, fn: string, epoch: number, state: string }
export interface Violation { fn: string, epoch: number, owners: [string, string], at: number }

/** Every claim any cell made, and the epochs that got two owners. */
export class ClaimHistory {
  readonly claims: Claim[] = []
  readonly violations: Violation[] = []
  private readonly owner = new Map<string, string>()
  private readonly listeners: Array<(c: Claim) => void> = []
  /** Called right after each claim is written (a test can cut links at that instant). */
  onClaim (l: (c: Claim) => void): void { this.listeners.push(l) }
  record (c: Claim): void {
    this.claims.push(c)
    for (const l of this.listeners) l(c)
    const key = `${c.fn}@${c.epoch}`
    const prev = this.owner.get(key)
    if (prev == null) this.owner.set(key, c.cell)
    else if (prev !== c.cell) this.violations.push({ fn: c.fn, epoch: c.epoch, owners: [prev, c.cell], at: c.at })
  }
}

export interface SimCell {
  readonly id: string
  readonly view: StoreView
  readonly group: TimerGroup
  readonly organism: Organism
  readonly mover: Mover
  readonly host: FakeFunctionHost
  readonly driver: DivisionDriver | null
  /** Divisions this cell performed: when it decided, and onto which cell. */
  readonly divisions: Array<{ at: number, fn: string, to: string }>
}

export class SimCells {
  readonly time = new SimTime()
  readonly net: SimNet
  readonly history = new ClaimHistory()
  readonly ids: string[]
  readonly cells = new Map<string, SimCell>()
  readonly rng: Rng
  private readonly o: SimCellsOptions
  private readonly spare: string[]
  private starts = 0
  /** One ownership store for every cell, as etcd with its majority reachable is: consistent and always there. */
  private store: OwnershipStore | null = null

  constructor (o: SimCellsOptions) {
    this.o = o
    this.rng = seededRng(o.seed)
    this.net = new SimNet(this.time, this.rng, { loss: o.loss ?? 0.01, latency: { medianMs: 0.4, sigma: 0.4, minMs: 0.2, maxMs: 1 } })
    const all = o.n + (o.spare ?? 0)
    this.ids = Array.from({ length: all }, (_, i) => `cell-${String(i).padStart(5, '0')}`)
    this.spare = this.ids.slice(o.n)
    for (const id of this.ids.slice(0, o.n)) this.net.admit(id)
  }

  /** Starts every member: cell 0 founds, the others start as members that already joined. */
  async start (): Promise<void> {
    this.store = await openLocalStore(null, { now: () => this.time.now })
    for (const [i, id] of this.ids.slice(0, this.o.n).entries()) await this.startCell(id, i === 0)
  }

  alive (): SimCell[] { return [...this.cells.values()].filter((c) => c.group.alive) }
  isAlive (id: string): boolean { return this.cells.get(id)?.group.alive === true }

  /** kill -9: no more timers, messages or streams; nothing is stopped cleanly. */
  kill (id: string): void {
    const c = this.cells.get(id)
    if (c == null) return
    c.group.alive = false
    this.net.kill(id)
    // Its lease ends with it (etcd would expire it one TTL later).
    void c.view.lease()?.release()
  }

  /** The cell's process starts again with an empty memory (placements live in memory only). */
  async restart (id: string): Promise<void> {
    if (this.isAlive(id)) return
    await this.startCell(id, false)
  }

  /** The owner of fn as one cell sees it now. */
  ownerAt (id: string, fn: string): { owner: string, epoch: number, state: string } | null {
    const p = this.cells.get(id)?.organism.placement(fn)
    return p == null ? null : { owner: p.owner, epoch: p.epoch, state: p.state }
  }

  /** True when every live cell routes fn to `owner` (and the owner itself serves it locally). */
  allRouteTo (fn: string, owner: string): boolean {
    for (const c of this.alive()) {
      const r = c.organism.plan().route(fn)
      if (c.id === owner ? r.kind !== 'local' : !(r.kind === 'remote' && r.cell === owner)) return false
    }
    return true
  }

  /** Grows onto a spare cell (what an imprint does, here at once): it starts, joins, and gets a function moved to it. */
  async growOnto (parent: SimCell, fn: string): Promise<string | null> {
    const id = this.spare.shift()
    if (id == null) return null
    this.net.admit(id)
    await this.startCell(id, false)
    parent.divisions.push({ at: this.time.now, fn, to: id })
    await parent.mover.move(fn, id)
    return id
  }

  private async startCell (id: string, founding: boolean): Promise<SimCell> {
    const group: TimerGroup = { alive: true }
    const clock = this.time.scheduler(group)
    const link = this.net.link(id)
    const host = new FakeFunctionHost(id, this.o.functions, clock)
    const view = createStoreView({ self: id, clock })
    if (this.store == null) throw new Error('start() the simulation first')
    // Each change the store accepts is recorded, by the cell that asked for it (only a live cell can ask).
    const store = this.store
    const recording: OwnershipStore = {
      ...store,
      apply: async (fn, req) => {
        const next = await store.apply(fn, req)
        if (group.alive) this.history.record({ at: this.time.now, cell: id, fn, epoch: next.epoch, state: next.state })
        return next
      }
    }
    await view.attach(recording)
    const organism = await startOrganism({
      organism: 'sim', functions: this.o.functions, link, ownership: view, signer: fakeSignatureSigner(id), verify: fakeSignatureVerify(),
      clock, founding, seed: this.o.seed * 7919 + this.starts++
    })
    const mover = createMover({ placements: organism, host, link, data: fakeDataMover(host), authorize: fakeOperatorAuthorize, clock, functions: this.o.functions, protocols: protocols('sim'), precopy: false }) // the fake data mover moves a list of writes, not files: the sim's moves are cold
    const driver = this.o.division == null
      ? null
      : createDivisionDriver({
        limits: this.o.division,
        clock,
        readings: () => host.status().filter((s) => s.state === 'running').map((s) => ({ ...s, traffic: { requestsPerSecond: host.rps(s.name), distinctUsers: 0 } })),
        localFunctions: () => [...organism.plan().local],
        poolHasFreeHost: async () => this.spare.length > 0,
        divide: async (fn) => { await this.growOnto(cell, fn) }
      })
    const cell: SimCell = { id, view, group, organism, mover, host, driver, divisions: [] }
    const parts: Startable[] = [mover, createReconciler(organism, host, () => mover.arriving), ...driver == null ? [] : [driver]]
    for (const p of parts) await p.start()
    if (this.o.ownRecords === true) organism.setOwnRecord({ name: id, addrs: { peer: link.addrs() }, load: { rps: 0, cpu: 0, memory: 0 }, functions: [], software: 'sim', genome: 'sim' })
    this.cells.set(id, cell)
    return cell
  }
}
