// Response rate limiting for UDP answers (pure but for its map): a source network that is answered faster than its budget
// gets every `slip`-th answer as an empty truncated reply (a real client retries over TCP, where nothing is limited)
// and the rest dropped, so that the cell cannot be made to flood a spoofed address with answers.
import { isIPv6 } from 'node:net'
import { take, type Bucket, type BucketOptions } from '../core/bucket.ts'

export interface RateLimitOptions extends BucketOptions {
  /** Every slip-th limited query gets a truncated reply (0: none, all dropped). */
  slip: number
  /** Source networks tracked at once; past it the table starts over (a flood of sources cannot grow memory). */
  maxSources: number
}

export const defaultRateLimit: RateLimitOptions = { ratePerSec: 50, burst: 100, slip: 2, maxSources: 10_000 }

/** The network a source is counted by: /24 for IPv4, /48 for IPv6 (spoofers rotate addresses inside one). */
export function sourceNetwork (address: string): string {
  if (address.startsWith('::ffff:')) return sourceNetwork(address.slice(7))
  if (isIPv6(address)) return address.split(':').slice(0, 3).join(':') + '::/48'
  return address.split('.').slice(0, 3).join('.') + '.0/24'
}

export type RateVerdict = 'answer' | 'slip' | 'drop'

export function createRateLimiter (opts: RateLimitOptions = defaultRateLimit): { decide: (address: string, now: number) => RateVerdict } {
  const buckets = new Map<string, { bucket: Bucket, limited: number }>()
  return {
    decide: (address, now) => {
      const net = sourceNetwork(address)
      if (!buckets.has(net) && buckets.size >= opts.maxSources) buckets.clear()
      const cur = buckets.get(net)
      const r = take(cur?.bucket, now, opts)
      const limited = r.ok ? 0 : (cur?.limited ?? 0) + 1
      buckets.set(net, { bucket: r.bucket, limited })
      if (r.ok) return 'answer'
      return opts.slip > 0 && limited % opts.slip === 0 ? 'slip' : 'drop'
    }
  }
}
