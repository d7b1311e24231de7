// Time as a component: the real clock for cells, a fake one (with timers it runs itself) for tests and the simulator.

export interface Clock {
  now: () => number
}

/** A clock that also runs timers; what long-lived parts take, so that a simulation can run them on fake time. */
export interface Scheduler extends Clock {
  /** Runs fn every ms until the returned function is called. Real timers never keep the process alive. */
  every: (ms: number, fn: () => void) => () => void
  /** Runs fn once after ms unless the returned function is called first. */
  after: (ms: number, fn: () => void) => () => void
}

export const realClock: Scheduler = {
  now: () => Date.now(),
  every: (ms, fn) => { const t = setInterval(fn, ms); t.unref(); return () => { clearInterval(t) } },
  after: (ms, fn) => { const t = setTimeout(fn, ms); t.unref(); return () => { clearTimeout(t) } }
}

interface FakeTimer { at: number, seq: number, every: number | null, fn: () => void, cancelled: boolean }

/** Fake time: nothing moves until advance(), which runs the timers that fall due, in time order, at their own time. */
export class FakeClock implements Scheduler {
  private t: number
  private seq = 0
  private timers: FakeTimer[] = []
  constructor (start = 0) { this.t = start }
  now (): number { return this.t }

  every (ms: number, fn: () => void): () => void { return this.add(Math.max(1, ms), Math.max(1, ms), fn) }
  after (ms: number, fn: () => void): () => void { return this.add(Math.max(0, ms), null, fn) }

  /** When the next timer is due (Infinity when none). */
  nextDue (): number {
    let due = Infinity
    for (const x of this.timers) if (!x.cancelled && x.at < due) due = x.at
    return due
  }

  /** Moves time forward by ms, running every timer due on the way; a timer set by a timer runs too if it falls due. */
  advance (ms: number): void {
    const end = this.t + ms
    for (;;) {
      const next = this.popDue(end)
      if (next == null) break
      this.t = Math.max(this.t, next.at)
      if (next.every != null) { next.at += next.every; this.timers.push(next) }
      next.fn()
    }
    this.t = end
  }

  private add (delay: number, every: number | null, fn: () => void): () => void {
    const timer: FakeTimer = { at: this.t + delay, seq: this.seq++, every, fn, cancelled: false }
    this.timers.push(timer)
    return () => { timer.cancelled = true }
  }

  private popDue (end: number): FakeTimer | null {
    this.timers = this.timers.filter((x) => !x.cancelled)
    let best = -1
    for (let i = 0; i < this.timers.length; i++) {
      const x = this.timers[i]
      if (x.at <= end && (best < 0 || x.at < this.timers[best].at || (x.at === this.timers[best].at && x.seq < this.timers[best].seq))) best = i
    }
    return best < 0 ? null : this.timers.splice(best, 1)[0]
  }
}
