// Requests that wait for their function (starting, moving, taken over from a dead owner) instead of a 503: held
// up to a bound, a bounded number at a time, and looked at again together on one timer while any wait.
export interface HoldOptions {
  /** How long one request may wait (0: none does). */
  holdMs: number
  /** How many may wait at once; more are answered at once. */
  maxHeld: number
  /** How often the waiting ones are looked at again. */
  tickMs: number
}

export interface Hold<T> {
  /** Until when a request arriving now may wait. */
  deadline: (now: number) => number
  /** Keeps `item` to be retried at the next look, if there is room and `until` is not past. */
  keep: (item: T, until: number, now: number) => boolean
  /** Retries every waiting item now, for the last time (a stopping router). */
  flush: () => void
}

export function createHold<T> (opts: HoldOptions, retry: (item: T, until: number) => void, gone: (item: T) => boolean): Hold<T> {
  let held: Array<{ item: T, until: number }> = []
  let timer: NodeJS.Timeout | null = null
  const look = (): void => {
    const waiting = held
    held = []
    for (const h of waiting) if (!gone(h.item)) retry(h.item, h.until)
    if (held.length === 0 && timer != null) { clearInterval(timer); timer = null }
  }
  return {
    deadline: (now) => now + opts.holdMs,
    keep: (item, until, now) => {
      if (now >= until || held.length >= opts.maxHeld) return false
      held.push({ item, until })
      timer ??= setInterval(look, opts.tickMs)
      return true
    },
    flush: () => {
      if (timer != null) { clearInterval(timer); timer = null }
      const waiting = held
      held = []
      for (const h of waiting) if (!gone(h.item)) retry(h.item, 0)
    }
  }
}
