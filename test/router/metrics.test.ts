// Metric structures: HyperLogLog accuracy, sliding-window rate on a fake clock, quantiles vs exact, client keys.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { HyperLogLog } from '../../src/router/hll.ts'
import { SlidingWindow, quantilesOf, bucketOf, BUCKETS } from '../../src/router/window.ts'
import { TrafficTracker, clientKey } from '../../src/router/traffic.ts'
import { trafficFamilies } from '../../src/router/metrics.ts'
import { formatPrometheus } from '../../src/core/prometheus.ts'

const relErr = (est: number, exact: number): number => Math.abs(est - exact) / exact

test('HyperLogLog is within 2% at 10k and 100k distinct keys, and ignores repeats', () => {
  for (const n of [10_000, 100_000]) {
    const h = new HyperLogLog(14)
    for (let i = 0; i < n; i++) h.add(`10.0.${i >> 8}.${i & 255}|Mozilla/5.0 user ${i}`)
    for (let i = 0; i < n; i += 7) h.add(`10.0.${i >> 8}.${i & 255}|Mozilla/5.0 user ${i}`)
    assert.ok(relErr(h.estimate(), n) < 0.02, `n=${n} estimate=${h.estimate()}`)
  }
  const small = new HyperLogLog(14)
  for (let i = 0; i < 50; i++) small.add('k' + (i % 10))
  assert.equal(small.estimate(), 10)
  assert.equal(new HyperLogLog(14).estimate(), 0)
})

test('HyperLogLog merge estimates the union', () => {
  const a = new HyperLogLog(14)
  const b = new HyperLogLog(14)
  for (let i = 0; i < 30_000; i++) a.add('u' + i)
  for (let i = 20_000; i < 50_000; i++) b.add('u' + i)
  a.merge(b)
  assert.ok(relErr(a.estimate(), 50_000) < 0.02, `estimate=${a.estimate()}`)
})

test('sliding window rate follows a fake clock', () => {
  const w = new SlidingWindow(60, 1_000_000)
  // 10 requests per second for 30 s.
  for (let s = 0; s < 30; s++) for (let i = 0; i < 10; i++) w.record(1_000_000 + s * 1000 + i * 100, 1)
  assert.equal(w.count(1_030_000), 300)
  assert.equal(w.rate(1_030_000), 10) // 300 requests over the 30 s since start
  // 60 s later than start + 30: everything has slid out except nothing
  assert.equal(w.rate(1_120_000), 0)
  // at t=+80 s, the window (60 s) holds seconds 21..80 -> seconds 21..29 = 90 requests
  assert.equal(w.count(1_080_000), 90)
  assert.equal(w.rate(1_080_000), 1.5)
})

test('a slot reused after the window is cleared first', () => {
  const w = new SlidingWindow(10, 0)
  w.record(0, 5)
  w.record(10_000, 5) // same slot, ten seconds later
  assert.equal(w.count(10_000), 1)
})

test('quantiles are within one bucket (~4.5%) of exact on known distributions', () => {
  const exactQ = (xs: number[], q: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.max(0, Math.ceil(q * s.length) - 1)] }
  let seed = 42
  const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed + 0.5) / 2 ** 32 }
  const dists: Record<string, number[]> = {
    uniform: Array.from({ length: 20_000 }, () => 1 + rnd() * 99),
    exponential: Array.from({ length: 20_000 }, () => -Math.log(rnd()) * 5),
    bimodal: Array.from({ length: 20_000 }, (_, i) => (i % 100 === 0 ? 250 : 2) * (0.9 + rnd() * 0.2))
  }
  for (const [name, xs] of Object.entries(dists)) {
    const w = new SlidingWindow(60, 0)
    xs.forEach((x, i) => { w.record(i % 50_000, x) })
    const [p50, p99] = w.quantiles(50_000, [0.5, 0.99])
    assert.ok(relErr(p50, exactQ(xs, 0.5)) < 0.05, `${name} p50 ${p50} vs ${exactQ(xs, 0.5)}`)
    assert.ok(relErr(p99, exactQ(xs, 0.99)) < 0.05, `${name} p99 ${p99} vs ${exactQ(xs, 0.99)}`)
  }
  assert.deepEqual(quantilesOf(new Uint32Array(BUCKETS), [0.5]), [0])
  assert.equal(bucketOf(0), 0)
  assert.equal(bucketOf(1e12), BUCKETS - 1)
})

test('client key: a session cookie wins, else address + user agent', () => {
  assert.equal(clientKey('theme=dark; sid=abc123; x=1', '1.2.3.4', 'UA'), 'c:abc123')
  assert.equal(clientKey('connect.sid=s%3Aq', '1.2.3.4', 'UA'), 'c:s%3Aq')
  assert.equal(clientKey('myapp_session=zz', '1.2.3.4', 'UA'), 'c:zz')
  assert.equal(clientKey('theme=dark', '1.2.3.4', 'UA'), 'a:1.2.3.4|UA')
  assert.equal(clientKey(undefined, '1.2.3.4', undefined), 'a:1.2.3.4|')
  assert.equal(clientKey('sid=', '1.2.3.4', 'UA'), 'a:1.2.3.4|UA')
})

test('traffic tracker: users rotate over two windows; counters and families', () => {
  const t = new TrafficTracker(0, { windowSeconds: 60, usersWindowSeconds: 100, hllPrecision: 14 })
  for (let i = 0; i < 1000; i++) t.record(i * 10, i % 10 === 0 ? 502 : 200, 3, 'u' + (i % 200), 100, 200)
  let s = t.snapshot(10_000)
  assert.equal(s.requestsTotal, 1000)
  assert.equal(s.errors.status5xx, 100)
  assert.equal(s.bytesIn, 100_000)
  assert.equal(s.bytesOut, 200_000)
  assert.ok(relErr(s.distinctUsers, 200) < 0.02)
  assert.ok(relErr(s.p50Ms, 3) < 0.05)
  assert.equal(s.requestsPerSecond, 100)
  assert.ok(relErr(t.distinctUsers(150_000), 200) < 0.02) // next users window: the previous one still counts
  s = t.snapshot(250_000)
  assert.equal(s.distinctUsers, 0) // two windows later nobody is left
  assert.equal(s.requestsPerSecond, 0)
  const text = formatPrometheus(trafficFamilies(new Map([['quiz', t]]), 10_000))
  assert.match(text, /organism_http_requests_total\{function="quiz",code_class="2xx"\} 900/)
  assert.match(text, /organism_http_requests_total\{function="quiz",code_class="5xx"\} 100/)
  assert.match(text, /organism_http_request_duration_seconds_count\{function="quiz"\} 1000/)
  assert.match(text, /organism_http_distinct_users\{function="quiz"\} 0/)
  assert.match(text, /organism_http_received_bytes_total\{function="quiz"\} 100000/)
})

test('HyperLogLog stays within 2% across the small-to-large transition (1k..200k)', () => {
  for (const n of [1_000, 30_000, 50_000, 80_000, 200_000]) {
    const h = new HyperLogLog(14)
    for (let i = 0; i < n; i++) h.add(`session-${i}-${n}`)
    assert.ok(relErr(h.estimate(), n) < 0.02, `n=${n} estimate=${h.estimate()}`)
  }
})
