// Restart policy (pure): from recent exit times, how long to wait and whether the function is crash-looping.

export interface BackoffOptions {
  /** Delay after the first crash in a window. */
  readonly initialMs: number
  /** Cap on any delay; a crash-looping function retries at this pace. */
  readonly maxMs: number
  readonly factor: number
  /** This many exits within windowMs mark the function as crash-looping. */
  readonly crashLoopAfter: number
  /** Exits older than this are forgotten, so a function that ran well for a while starts again at initialMs. */
  readonly windowMs: number
}

export const defaultBackoff: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2, crashLoopAfter: 5, windowMs: 120_000 }

export interface BackoffDecision {
  readonly delayMs: number
  readonly crashLoop: boolean
}

/** Exit times still inside the window (drop the rest so the history stays small). */
export function recentExits (exits: readonly number[], now: number, opts: BackoffOptions): number[] {
  return exits.filter((t) => t <= now && now - t < opts.windowMs)
}

/**
 * Decide the wait before the next restart. `exits` holds exit times (ms), including the one just seen.
 * With n recent exits the delay is initialMs * factor^(n-1), capped at maxMs; crash-loop from crashLoopAfter on,
 * and then always at maxMs so the operator sees a slow, steady retry rather than a storm.
 */
export function restartDelay (exits: readonly number[], now: number, opts: BackoffOptions): BackoffDecision {
  const n = Math.max(1, recentExits(exits, now, opts).length)
  const crashLoop = n >= opts.crashLoopAfter
  if (crashLoop) return { delayMs: opts.maxMs, crashLoop }
  const raw = opts.initialMs * Math.pow(Math.max(1, opts.factor), n - 1)
  return { delayMs: Math.min(opts.maxMs, Math.max(0, Math.round(raw))), crashLoop }
}
