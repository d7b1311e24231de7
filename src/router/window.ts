// Sliding-window request stats (pure, clock passed in): a ring of per-second slots, each a count and a log-scale latency histogram.

/** Bucket b holds latencies in [MIN_MS * G^b, MIN_MS * G^(b+1)); G = 2^(1/8), so a quantile is within ~4.5% of exact. */
const MIN_MS = 0.01
const STEPS_PER_DOUBLING = 8
export const BUCKETS = 200 // 0.01 ms .. ~330 s; faster goes to bucket 0, slower to the last
const LOG_G = Math.LN2 / STEPS_PER_DOUBLING

export function bucketOf (ms: number): number {
  if (!(ms > MIN_MS)) return 0
  const b = Math.floor(Math.log(ms / MIN_MS) / LOG_G)
  return b >= BUCKETS ? BUCKETS - 1 : b
}

/** The value reported for a bucket: its geometric midpoint. */
export function bucketValue (b: number): number {
  return MIN_MS * Math.exp((b + 0.5) * LOG_G)
}

/** Upper bound of a bucket in ms (for Prometheus-style cumulative buckets). */
export function bucketUpper (b: number): number {
  return MIN_MS * Math.exp((b + 1) * LOG_G)
}

export class SlidingWindow {
  readonly seconds: number
  private readonly slotSecond: Float64Array
  private readonly counts: Uint32Array
  private readonly hist: Uint32Array
  private readonly startedMs: number

  constructor (seconds: number, nowMs: number) {
    this.seconds = seconds
    this.slotSecond = new Float64Array(seconds).fill(-1)
    this.counts = new Uint32Array(seconds)
    this.hist = new Uint32Array(seconds * BUCKETS)
    this.startedMs = nowMs
  }

  /** Hot path: one division, one log, three array writes. */
  record (nowMs: number, latencyMs: number): void {
    const sec = Math.floor(nowMs / 1000)
    const slot = sec % this.seconds
    if (this.slotSecond[slot] !== sec) {
      this.slotSecond[slot] = sec
      this.counts[slot] = 0
      this.hist.fill(0, slot * BUCKETS, (slot + 1) * BUCKETS)
    }
    this.counts[slot]++
    this.hist[slot * BUCKETS + bucketOf(latencyMs)]++
  }

  private live (slot: number, nowSec: number): boolean {
    const s = this.slotSecond[slot]
    return s > nowSec - this.seconds && s <= nowSec
  }

  count (nowMs: number): number {
    const nowSec = Math.floor(nowMs / 1000)
    let n = 0
    for (let i = 0; i < this.seconds; i++) if (this.live(i, nowSec)) n += this.counts[i]
    return n
  }

  /** Requests per second over the window, or over the time since start while that is shorter (min 1 s). */
  rate (nowMs: number): number {
    const span = Math.min(this.seconds, Math.max(1, (nowMs - this.startedMs) / 1000))
    return this.count(nowMs) / span
  }

  /** The merged histogram of the live slots. */
  histogram (nowMs: number): Uint32Array {
    const nowSec = Math.floor(nowMs / 1000)
    const out = new Uint32Array(BUCKETS)
    for (let i = 0; i < this.seconds; i++) {
      if (!this.live(i, nowSec) || this.counts[i] === 0) continue
      const base = i * BUCKETS
      for (let b = 0; b < BUCKETS; b++) out[b] += this.hist[base + b]
    }
    return out
  }

  /** Quantiles (0..1) in ms over the window; 0 when there were no requests. */
  quantiles (nowMs: number, qs: readonly number[]): number[] {
    return quantilesOf(this.histogram(nowMs), qs)
  }
}

export function quantilesOf (hist: Uint32Array, qs: readonly number[]): number[] {
  let total = 0
  for (let b = 0; b < hist.length; b++) total += hist[b]
  if (total === 0) return qs.map(() => 0)
  return qs.map((q) => {
    const rank = Math.max(1, Math.ceil(q * total))
    let seen = 0
    for (let b = 0; b < hist.length; b++) {
      seen += hist[b]
      if (seen >= rank) return bucketValue(b)
    }
    return bucketValue(hist.length - 1)
  })
}
