// Simulated time for whole control planes: one heap of timers for every cell, each cell's timers in its own group
// (a killed cell's timers never fire again), and the microtasks of async code run between two instants.
import type { Scheduler } from '../../src/core/clock.ts'
import { Heap } from './heap.ts'

/** A cell's share of the timers: alive until the cell is killed. */
export interface TimerGroup { alive: boolean }

interface Task { at: number, seq: number, fn: () => void, cancelled: boolean, group: TimerGroup | null }

// One macrotask turn: every promise reaction and nextTick queued by the instant's timers runs before time moves on.
const settle = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

export class SimTime {
  now = 0
  /** Timer callbacks run so far (for the wall-time report). */
  fired = 0
  private readonly heap = new Heap<Task>()
  private seq = 0

  at (at: number, fn: () => void, group: TimerGroup | null = null): () => void {
    const task: Task = { at: Math.max(at, this.now), seq: ++this.seq, fn, cancelled: false, group }
    this.heap.push(task)
    return () => { task.cancelled = true }
  }

  /** The Scheduler a cell's parts take: its timers belong to its group. */
  scheduler (group: TimerGroup): Scheduler {
    return {
      now: () => this.now,
      after: (ms, fn) => this.at(this.now + Math.max(0, ms), fn, group),
      every: (ms, fn) => {
        let cancel = (): void => {}
        let stopped = false
        const arm = (): void => {
          cancel = this.at(this.now + Math.max(1, ms), () => { if (!stopped) { arm(); fn() } }, group)
        }
        arm()
        return () => { stopped = true; cancel() }
      }
    }
  }

  /**
   * Advances time until p settles (bounded), then returns its outcome. Async work gets one turn of the event loop per
   * instant; under load some of it needs more, so a result due by a given instant may come a few instants later,
   * and awaiting it without advancing time would wait forever.
   */
  async until<T> (p: Promise<T>, limitMs = 20_000): Promise<T> {
    let done = false
    void p.then(() => { done = true }, () => { done = true })
    await settle()
    const end = this.now + limitMs
    while (!done && this.now < end) await this.runUntil(this.now + 100)
    if (!done) throw new Error(`did not settle within ${limitMs} ms of simulated time`)
    return await p
  }

  /** Runs every timer due up to t, instant by instant, letting async work settle after each instant. */
  async runUntil (t: number): Promise<void> {
    for (let next = this.heap.peek(); next != null && next.at <= t; next = this.heap.peek()) {
      this.now = next.at
      while (this.heap.peek()?.at === this.now) {
        const task = this.heap.pop()!
        if (task.cancelled || task.group?.alive === false) continue
        this.fired++
        task.fn()
      }
      await settle()
    }
    this.now = t
    await settle()
  }
}
