// The simulator: N engines on a fake clock and a lossy, LAN-latency fake network, run as discrete events.
import { Engine, type EngineOptions, type Outgoing } from '../../src/state/engine.ts'
import { seededRng, type Rng } from '../../src/state/rng.ts'
import { fakeSignatureSigner, fakeSignatureVerify } from '../../src/state/sign.ts'
import type { StateEvent } from '../../src/state/types.ts'
import type { Wire } from '../../src/state/wire.ts'
import { Heap } from './heap.ts'

export interface SimOptions {
  n: number
  seed?: number
  /** Fraction of messages dropped (default 0.01). */
  loss?: number
  /** One-way latency: lognormal around medianMs, clamped to [minMs, maxMs] (default 0.4 ms in 0.2–1 ms). */
  latency?: { medianMs: number, sigma: number, minMs: number, maxMs: number }
  engine?: Partial<EngineOptions>
  /** Each cell writes its own cell record at start (memory grows as n²; keep n small). */
  ownRecords?: boolean
}

type SimEvent =
  | { at: number, seq: number, kind: 'tick', cell: number }
  | { at: number, seq: number, kind: 'deliver', cell: number, from: number, msg: Wire }

export class Sim {
  readonly ids: string[]
  readonly cells: Engine[]
  readonly dead: boolean[]
  /** Extra one-way delay on everything a cell sends (a slow, not dead, cell). */
  readonly slowMs: number[]
  readonly sentBy: Uint32Array
  now = 0
  delivered = 0
  dropped = 0
  private readonly index = new Map<string, number>()
  private readonly heap = new Heap<SimEvent>()
  private readonly rng: Rng
  private readonly loss: number
  private readonly lat: NonNullable<SimOptions['latency']>
  /** When each cell's pending tick is due; older tick events for it are stale and skipped. */
  private readonly wake: Float64Array
  private seq = 0
  private readonly seed: number
  private readonly verify = fakeSignatureVerify()
  private readonly engineOptions: Partial<EngineOptions> | undefined
  private readonly listeners: Array<(cell: number, e: StateEvent, now: number) => void> = []

  constructor (o: SimOptions) {
    const seed = o.seed ?? 1
    this.seed = seed
    this.engineOptions = o.engine
    this.rng = seededRng(seed)
    this.loss = o.loss ?? 0.01
    this.lat = o.latency ?? { medianMs: 0.4, sigma: 0.4, minMs: 0.2, maxMs: 1 }
    this.ids = Array.from({ length: o.n }, (_, i) => `cell-${String(i).padStart(5, '0')}`)
    this.ids.forEach((id, i) => this.index.set(id, i))
    const verify = this.verify
    // One shared roster: the membrane's view, the same on every cell, so memory stays O(n) not O(n²).
    this.cells = this.ids.map((id, i) => {
      const e = new Engine({ signer: fakeSignatureSigner(id), verify, rng: seededRng(seed * 7919 + i), now: 0, options: o.engine })
      e.setRoster(this.ids)
      return e
    })
    this.dead = new Array<boolean>(o.n).fill(false)
    this.slowMs = new Array<number>(o.n).fill(0)
    this.sentBy = new Uint32Array(o.n)
    this.wake = new Float64Array(o.n).fill(Infinity)
    for (let i = 0; i < o.n; i++) {
      if (o.ownRecords === true) this.send(i, this.cells[i].setOwnRecord(sampleCellBody(this.ids[i])))
      this.after(i)
    }
  }

  onEvent (fn: (cell: number, e: StateEvent, now: number) => void): void { this.listeners.push(fn) }

  kill (i: number): void { this.dead[i] = true }

  /** Cell i comes back as a fresh process: new engine, incarnation 0, empty store. */
  restart (i: number, withRecord = true): void {
    const e = new Engine({ signer: fakeSignatureSigner(this.ids[i]), verify: this.verify, rng: seededRng(this.seed * 104729 + i), now: this.now, options: this.engineOptions })
    e.setRoster(this.ids)
    this.cells[i] = e
    this.dead[i] = false
    this.wake[i] = Infinity
    if (withRecord) this.send(i, e.setOwnRecord(sampleCellBody(this.ids[i])))
    this.after(i)
  }

  /** Runs cell i's code as if it happened now, and sends what it returns. */
  act (i: number, fn: (e: Engine) => Outgoing[]): void {
    this.send(i, fn(this.cells[i]))
    this.after(i)
  }

  totalSent (): number { return this.sentBy.reduce((a, b) => a + b, 0) }

  runUntil (t: number): void {
    for (let ev = this.heap.peek(); ev != null && ev.at <= t; ev = this.heap.peek()) {
      this.heap.pop()
      this.now = ev.at
      const i = ev.cell
      if (this.dead[i]) continue
      if (ev.kind === 'tick') {
        if (ev.at !== this.wake[i]) continue
        this.wake[i] = Infinity
        this.send(i, this.cells[i].tick(this.now))
      } else {
        this.delivered++
        this.send(i, this.cells[i].receive(this.ids[ev.from], ev.msg, this.now))
      }
      this.after(i)
    }
    this.now = t
  }

  /** No polling: each cell's next tick is scheduled for exactly when its engine has timer work. */
  private after (i: number): void {
    const due = Math.max(this.now, this.cells[i].nextDue())
    if (due < this.wake[i]) {
      this.wake[i] = due
      this.schedule({ at: due, seq: 0, kind: 'tick', cell: i })
    }
    this.emit(i)
  }

  private emit (i: number): void {
    const events = this.cells[i].drainEvents()
    if (this.listeners.length === 0) return
    for (const e of events) for (const l of this.listeners) l(i, e, this.now)
  }

  private send (from: number, outs: Outgoing[]): void {
    for (const o of outs) {
      this.sentBy[from]++
      const to = this.index.get(o.to)
      if (to === undefined || this.rng() < this.loss) { this.dropped++; continue }
      this.schedule({ at: this.now + this.latency() + this.slowMs[from], seq: 0, kind: 'deliver', cell: to, from, msg: o.msg })
    }
  }

  private latency (): number {
    // Box–Muller normal, then lognormal: most messages near the median, a few slow ones.
    const z = Math.sqrt(-2 * Math.log(1 - this.rng())) * Math.cos(2 * Math.PI * this.rng())
    const { medianMs, sigma, minMs, maxMs } = this.lat
    return Math.min(maxMs, Math.max(minMs, medianMs * Math.exp(sigma * z)))
  }

  private schedule (ev: SimEvent): void {
    ev.seq = ++this.seq
    this.heap.push(ev)
  }
}

export function sampleCellBody (id: string): Parameters<Engine['setOwnRecord']>[0] {
  return {
    name: id,
    addrs: { peer: [`/ip4/10.0.0.1/tcp/4001/p2p/${id}`], router: '10.0.0.1:80', dns: '10.0.0.1:53' },
    load: { rps: 0, cpu: 0, memory: 0 },
    functions: [],
    software: '0.1.0',
    genome: 'abc123'
  }
}

/** Percentile of a sorted list. */
export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}
