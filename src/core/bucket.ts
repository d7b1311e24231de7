// A token bucket per sender (pure): how a flood from one source is cut without slowing the others.

export interface BucketOptions { ratePerSec: number, burst: number }
export interface Bucket { tokens: number, at: number }

/** Takes one token if there is one; returns the new bucket and whether the message may pass. */
export function take (bucket: Bucket | undefined, now: number, opts: BucketOptions): { bucket: Bucket, ok: boolean } {
  const b = bucket ?? { tokens: opts.burst, at: now }
  const tokens = Math.min(opts.burst, b.tokens + Math.max(0, now - b.at) * opts.ratePerSec / 1000)
  if (tokens < 1) return { bucket: { tokens, at: now }, ok: false }
  return { bucket: { tokens: tokens - 1, at: now }, ok: true }
}
