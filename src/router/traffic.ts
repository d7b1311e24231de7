// Per-function usage (pure, clock passed in): request rate, latency quantiles, distinct users, bytes, status classes.
import { HyperLogLog, estimateRegisters } from './hll.ts'
import { SlidingWindow } from './window.ts'

export interface FunctionTraffic {
  /** Over the sliding window (default 60 s). */
  requestsPerSecond: number
  p50Ms: number
  p99Ms: number
  /** Distinct clients over the last one to two user windows (default 1 h each). */
  distinctUsers: number
  /** Cumulative since the router started. */
  requestsTotal: number
  /** Wire bytes (headers included) read from / written to clients, cumulative. */
  bytesIn: number
  bytesOut: number
  errors: { status5xx: number }
}

export interface TrafficOptions {
  windowSeconds: number
  usersWindowSeconds: number
  hllPrecision: number
}

export const defaultTrafficOptions: TrafficOptions = { windowSeconds: 60, usersWindowSeconds: 3600, hllPrecision: 14 }

/** Cookie names taken as a session id, so that one logged-in user counts once across addresses. */
const SESSION_COOKIES = new Set(['session', 'sid', 'connect.sid', 'sessionid', 'session_id', 'phpsessid', 'jsessionid', '_session', 'laravel_session', 'express.sid'])

/** The key one user is counted by: a session cookie's value if there is one, else address + User-Agent. */
export function clientKey (cookie: string | undefined, remoteAddress: string | undefined, userAgent: string | undefined): string {
  if (cookie != null && cookie.length > 0) {
    let start = 0
    while (start < cookie.length) {
      let end = cookie.indexOf(';', start)
      if (end < 0) end = cookie.length
      const eq = cookie.indexOf('=', start)
      if (eq > start && eq < end) {
        const name = cookie.slice(start, eq).trim().toLowerCase()
        if (SESSION_COOKIES.has(name) || name.endsWith('_session') || name.endsWith('.sid')) {
          const value = cookie.slice(eq + 1, end).trim()
          if (value.length > 0) return 'c:' + value
        }
      }
      start = end + 1
    }
  }
  return 'a:' + (remoteAddress ?? '') + '|' + (userAgent ?? '')
}

export class TrafficTracker {
  private readonly window: SlidingWindow
  private readonly usersWindowMs: number
  /** Two HLLs rotated every users window: the estimate unions them, so it covers the last 1..2 windows. */
  private current: HyperLogLog
  private previous: HyperLogLog
  private epoch: number
  requestsTotal = 0
  bytesIn = 0
  bytesOut = 0
  latencySumMs = 0
  /** Index = status / 100 (0 for "no response", e.g. a client abort before headers). */
  readonly statusClasses = new Float64Array(6)

  constructor (nowMs: number, opts: TrafficOptions = defaultTrafficOptions) {
    this.window = new SlidingWindow(opts.windowSeconds, nowMs)
    this.usersWindowMs = opts.usersWindowSeconds * 1000
    this.current = new HyperLogLog(opts.hllPrecision)
    this.previous = new HyperLogLog(opts.hllPrecision)
    this.epoch = Math.floor(nowMs / this.usersWindowMs)
  }

  private rotate (nowMs: number): void {
    const epoch = Math.floor(nowMs / this.usersWindowMs)
    if (epoch === this.epoch) return
    const old = this.previous
    old.clear()
    if (epoch === this.epoch + 1) {
      this.previous = this.current
      this.current = old
    } else {
      this.current.clear() // idle for more than a whole window: nobody is left
    }
    this.epoch = epoch
  }

  record (nowMs: number, status: number, latencyMs: number, user: string, bytesIn: number, bytesOut: number): void {
    this.rotate(nowMs)
    this.window.record(nowMs, latencyMs)
    this.current.add(user)
    this.requestsTotal++
    this.bytesIn += bytesIn
    this.bytesOut += bytesOut
    this.latencySumMs += latencyMs
    const cls = status >= 100 && status < 600 ? Math.floor(status / 100) : 0
    this.statusClasses[cls]++
  }

  distinctUsers (nowMs: number): number {
    this.rotate(nowMs)
    return estimateRegisters([this.current.registers, this.previous.registers])
  }

  snapshot (nowMs: number): FunctionTraffic {
    const [p50, p99] = this.window.quantiles(nowMs, [0.5, 0.99])
    return {
      requestsPerSecond: this.window.rate(nowMs),
      p50Ms: p50,
      p99Ms: p99,
      distinctUsers: this.distinctUsers(nowMs),
      requestsTotal: this.requestsTotal,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      errors: { status5xx: this.statusClasses[5] }
    }
  }
}

export function emptyTraffic (): FunctionTraffic {
  return { requestsPerSecond: 0, p50Ms: 0, p99Ms: 0, distinctUsers: 0, requestsTotal: 0, bytesIn: 0, bytesOut: 0, errors: { status5xx: 0 } }
}
