// The division policy: sustained overload divides, spikes do not, and every reason to wait says so.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createSampler, decide, observe, coverage, sampleEveryMs, MAX_SAMPLES } from '../../src/divide/index.ts'
import type { DecideInput, Measures, SamplerState } from '../../src/divide/index.ts'
import type { DivisionLimits } from '../../src/genome/types.ts'

const W = 60_000
const EVERY = 5_000
const none: DivisionLimits = { requestsPerSecond: null, distinctUsers: null, dataBytes: null, cpu: null, memoryBytes: null, windowMs: W, cooldownMs: 600_000 }
const limits: DivisionLimits = { ...none, requestsPerSecond: 200 }

function m (partial: Partial<Measures> = {}): Measures {
  return { rps: 0, users: 0, dataBytes: 0, cpuCores: 0, memoryBytes: 0, ...partial }
}

type Load = Record<string, Partial<Measures>>
/** Observes `load(t)` every EVERY ms from `from` to `to` inclusive. */
function feed (state: SamplerState, from: number, to: number, load: (t: number) => Load): SamplerState {
  for (let t = from; t <= to; t += EVERY) {
    const fns: Record<string, Measures> = {}
    for (const [k, v] of Object.entries(load(t))) fns[k] = m(v)
    state = observe(state, { functions: fns }, t)
  }
  return state
}

function input (now: number, over: Partial<DecideInput> = {}): DecideInput {
  return { limits, now, lastDivisionAt: null, poolHasFreeHost: true, localFunctions: ['grades', 'catalog', 'forum'], dividing: false, ...over }
}

const heavy: Load = { grades: { rps: 180 }, catalog: { rps: 60 }, forum: { rps: 0 } }

test('sustained overload for the whole window divides, handing off the busiest function', () => {
  const s = feed(createSampler(W), 0, W, () => heavy)
  const d = decide(s, input(W))
  assert.equal(d.kind, 'divide')
  assert.ok(d.kind === 'divide')
  assert.equal(d.function, 'grades')
  assert.deepEqual({ limit: d.reason.limit, value: d.reason.value, threshold: d.reason.threshold, load: d.reason.load },
    { limit: 'requestsPerSecond', value: 240, threshold: 200, load: 180 })
  assert.equal(d.reason.text, 'requests/s 240 > 200 for 60 s; handing off grades (180 req/s)')
})

test('a spike shorter than the window does not divide', () => {
  // 45 s of overload after a quiet start: the window holds quiet samples.
  const s = feed(createSampler(W), 0, W, (t) => t < 15_000 ? { grades: { rps: 10 }, catalog: {} } : heavy)
  const d = decide(s, input(W))
  assert.equal(d.kind, 'wait')
  assert.ok(d.kind === 'wait' && d.why === 'under', JSON.stringify(d))
  // One low sample in the middle of a long overload also breaks "sustained".
  const dip = feed(createSampler(W), 0, W, (t) => t === 30_000 ? { grades: { rps: 150 } } : heavy)
  assert.equal(decide(dip, input(W)).kind, 'wait')
})

test('overload seen for less than 90 % of the window is still collecting', () => {
  const s = feed(createSampler(W), 0, 50_000, () => heavy)
  const d = decide(s, input(50_000))
  assert.ok(d.kind === 'wait' && d.why === 'collecting', JSON.stringify(d))
  assert.match(d.reason, /collecting load: 50 s of the 60 s window seen/)
  // 55 s of 60 (> 90 %) with enough samples is enough.
  const t = feed(createSampler(W), 5_000, 60_000, () => heavy)
  assert.equal(decide(t, input(60_000)).kind, 'divide')
})

test('too few samples, a hole in the samples, or stale samples do not count as the window', () => {
  let few = createSampler(W)
  for (const t of [0, 20_000, 40_000, 60_000]) few = observe(few, { functions: { grades: m({ rps: 500 }) } }, t)
  assert.equal(decide(few, input(60_000)).kind, 'wait')
  const holed = feed(createSampler(W), 0, W, () => heavy)
  const withHole: SamplerState = { ...holed, samples: holed.samples.filter((s) => s.at < 20_000 || s.at > 40_000) }
  assert.ok(!coverage(withHole, W, W).ok)
  assert.equal(decide(withHole, input(W)).kind, 'wait')
  // Nothing sampled for the last 20 s (the loop stalled): no decision on old news.
  const stale = feed(createSampler(W), 0, W, () => heavy)
  const d = decide(stale, input(W + 20_000))
  assert.ok(d.kind === 'wait' && d.why === 'collecting')
})

test('the cooldown since the last division is respected', () => {
  const s = feed(createSampler(W), 0, 700_000, () => heavy)
  const cool = decide(s, input(700_000, { lastDivisionAt: 400_000 }))
  assert.ok(cool.kind === 'wait' && cool.why === 'cooldown')
  assert.equal(cool.reason, 'cooling down after the last division (5 min left)')
  assert.equal(decide(s, input(700_000, { lastDivisionAt: 100_000 })).kind, 'divide')
  assert.equal(decide(s, input(700_000, { lastDivisionAt: 100_000 - 1 })).kind, 'divide')
})

test('no free host in the pool: wait, and say so', () => {
  const s = feed(createSampler(W), 0, W, () => heavy)
  const d = decide(s, input(W, { poolHasFreeHost: false }))
  assert.ok(d.kind === 'wait' && d.why === 'no-host')
  assert.match(d.reason, /^requests\/s 240 > 200 for 60 s; but the host pool has no free host/)
})

test('nothing happens while a division is under way', () => {
  const s = feed(createSampler(W), 0, W, () => heavy)
  const d = decide(s, input(W, { dividing: true }))
  assert.deepEqual(d, { kind: 'wait', why: 'dividing', reason: 'a division is under way' })
})

test('each kind of limit triggers, and picks the function heaviest by that measure', () => {
  const load: Load = {
    alpha: { rps: 100, users: 10, dataBytes: 9e9, cpuCores: 0.1, memoryBytes: 1e8 },
    bravo: { rps: 10, users: 900, dataBytes: 1e6, cpuCores: 0.2, memoryBytes: 9e8 },
    charlie: { rps: 10, users: 100, dataBytes: 1e6, cpuCores: 1.5, memoryBytes: 1e8 }
  }
  const s = feed(createSampler(W), 0, W, () => load)
  const cases: Array<[Partial<DivisionLimits>, string, string]> = [
    [{ requestsPerSecond: 100 }, 'alpha', 'requests/s 120 > 100 for 60 s; handing off alpha (100 req/s)'],
    [{ distinctUsers: 500 }, 'bravo', 'distinct users 1010 > 500 for 60 s; handing off bravo (900 users)'],
    [{ dataBytes: 1e9 }, 'alpha', 'data 9 GB > 1 GB for 60 s; handing off alpha (9 GB)'],
    [{ cpu: 1 }, 'charlie', 'CPU 1.8 cores > 1 cores for 60 s; handing off charlie (1.5 cores)'],
    [{ memoryBytes: 512 * 1024 ** 2 }, 'bravo', 'memory 1.1 GB > 536.9 MB for 60 s; handing off bravo (900 MB)']
  ]
  for (const [lim, fn, text] of cases) {
    const d = decide(s, input(W, { limits: { ...none, ...lim }, localFunctions: ['alpha', 'bravo', 'charlie'] }))
    assert.ok(d.kind === 'divide', JSON.stringify(d))
    assert.equal(d.function, fn)
    assert.equal(d.reason.text, text)
  }
})

test('when several limits pass, the most exceeded one chooses the function', () => {
  const s = feed(createSampler(W), 0, W, () => ({ a: { rps: 300, users: 10 }, b: { rps: 10, users: 5000 } }))
  const d = decide(s, input(W, { limits: { ...none, requestsPerSecond: 200, distinctUsers: 1000 }, localFunctions: ['a', 'b'] }))
  assert.ok(d.kind === 'divide')
  assert.equal(d.reason.limit, 'distinctUsers')
  assert.equal(d.function, 'b')
})

test('ties go to the name that sorts first, whatever the order given', () => {
  const s = feed(createSampler(W), 0, W, () => ({ zeta: { rps: 150 }, beta: { rps: 150 } }))
  for (const order of [['zeta', 'beta'], ['beta', 'zeta']]) {
    const d = decide(s, input(W, { localFunctions: order }))
    assert.ok(d.kind === 'divide' && d.function === 'beta')
  }
})

test('null limits are ignored; no limits at all means never divide', () => {
  const s = feed(createSampler(W), 0, W, () => ({ a: { rps: 1e6, users: 1e6, dataBytes: 1e15, cpuCores: 64, memoryBytes: 1e12 }, b: {} }))
  const d = decide(s, input(W, { limits: none, localFunctions: ['a', 'b'] }))
  assert.deepEqual(d, { kind: 'wait', why: 'no-limits', reason: 'the genome sets no division limit' })
  // Only the users limit is set: huge rps does not matter.
  const u = decide(s, input(W, { limits: { ...none, distinctUsers: 2e6 }, localFunctions: ['a', 'b'] }))
  assert.ok(u.kind === 'wait' && u.why === 'under')
  assert.equal(u.reason, 'no limit passed for 60 s (distinct users 1000000 of 2000000)')
})

test('the last function is never handed off', () => {
  const s = feed(createSampler(W), 0, W, () => ({ grades: { rps: 900 } }))
  const d = decide(s, input(W, { localFunctions: ['grades'] }))
  assert.ok(d.kind === 'wait' && d.why === 'last-function')
  assert.equal(d.reason, 'requests/s 900 > 200 for 60 s; but a cell keeps its last function (grades)')
  assert.equal(decide(s, input(W, { localFunctions: ['grades', 'grades'] })).kind, 'wait')
  assert.equal(decide(s, input(W, { localFunctions: [] })).kind, 'wait')
})

test('a busy stateless function grows by an instance (no host needed), then by a new cell, never past its most', () => {
  const s = feed(createSampler(W), 0, W, () => ({ web: { rps: 800 }, grades: { rps: 50 } }))
  const web = (grow: 'instance' | 'host' | 'at-max') => [{ fn: 'web', grow, count: 2, max: 4 }]
  const d = decide(s, input(W, { localFunctions: ['grades'], instances: web('instance'), poolHasFreeHost: false }))
  assert.ok(d.kind === 'add-instance' && d.function === 'web', JSON.stringify(d))
  assert.equal(d.reason.text, 'requests/s 850 > 200 for 60 s; adding a cell to the 2 that run web (800 req/s)')
  const h = decide(s, input(W, { localFunctions: ['grades'], instances: web('host') }))
  assert.ok(h.kind === 'divide' && h.function === 'web' && /every cell runs web: growing onto a new cell/.test(h.reason.text), JSON.stringify(h))
  const noHost = decide(s, input(W, { localFunctions: ['grades'], instances: web('host'), poolHasFreeHost: false }))
  assert.ok(noHost.kind === 'wait' && noHost.why === 'no-host' && /every cell runs web/.test(noHost.reason))
  const max = decide(s, input(W, { localFunctions: ['grades'], instances: web('at-max') }))
  assert.ok(max.kind === 'wait' && max.why === 'last-function', 'at its most cells it is no reason to hand off the last owned function')
  assert.match(max.reason, /web runs on its most cells already: 4/)
  // A stateless function that is not the busiest leaves the usual hand-off alone.
  const quiet = feed(createSampler(W), 0, W, () => ({ web: { rps: 10 }, grades: { rps: 300 }, forum: { rps: 5 } }))
  const o = decide(quiet, input(W, { localFunctions: ['grades', 'forum'], instances: web('instance') }))
  assert.ok(o.kind === 'divide' && o.function === 'grades')
})

test('only local functions are handed off, even if a remote one is busier', () => {
  const s = feed(createSampler(W), 0, W, () => ({ remote: { rps: 500 }, a: { rps: 20 }, b: { rps: 30 } }))
  const d = decide(s, input(W, { localFunctions: ['a', 'b'] }))
  assert.ok(d.kind === 'divide' && d.function === 'b')
})

test('cell totals given with the sample are used instead of the sums', () => {
  let s = createSampler(W)
  for (let t = 0; t <= W; t += EVERY) s = observe(s, { functions: { a: m({ memoryBytes: 1e8 }), b: m() }, totals: m({ memoryBytes: 2e9 }) }, t)
  const d = decide(s, input(W, { limits: { ...none, memoryBytes: 1e9 }, localFunctions: ['a', 'b'] }))
  assert.ok(d.kind === 'divide' && d.function === 'a' && d.reason.value === 2e9)
})

test('the clock going backwards drops the history and never divides on it', () => {
  let s = feed(createSampler(W), 1_000_000, 1_000_000 + W, () => heavy)
  assert.equal(decide(s, input(1_000_000 + W)).kind, 'divide')
  // The clock jumps back by an hour.
  s = observe(s, { functions: { grades: m({ rps: 180 }), catalog: m({ rps: 60 }) } }, 1_000_000 - 3_600_000 + W)
  assert.equal(s.samples.length, 1)
  const back = 1_000_000 - 3_600_000 + W
  assert.ok(decide(s, input(back)).kind === 'wait')
  // After a full window on the new clock the overload counts again.
  s = feed(s, back + EVERY, back + W, () => heavy)
  assert.equal(decide(s, input(back + W)).kind, 'divide')
  // Deciding with a "now" before the samples sees no window.
  assert.ok(decide(s, input(back - 1)).kind === 'wait')
})

test('a last division "in the future" (clock went back) waits a cooldown from when the jump was seen, not forever', () => {
  const cooldownMs = 120_000
  const lim = { ...limits, cooldownMs }
  let s = feed(createSampler(W), 5_000_000, 5_000_000 + W, () => heavy)
  const lastDivisionAt = 5_000_000 + W
  s = feed(s, 1_000_000, 1_000_000 + W, () => heavy) // jumped back; seen at 1_000_000
  assert.equal(s.clockWentBackAt, 1_000_000)
  const d = decide(s, input(1_000_000 + W, { limits: lim, lastDivisionAt }))
  assert.ok(d.kind === 'wait' && d.why === 'cooldown')
  s = feed(s, 1_000_000 + W + EVERY, 1_000_000 + cooldownMs, () => heavy)
  assert.equal(decide(s, input(1_000_000 + cooldownMs, { limits: lim, lastDivisionAt })).kind, 'divide')
})

test('the sampler keeps only what the window needs, and a bounded number of samples', () => {
  const s = feed(createSampler(W), 0, 10 * W, () => heavy)
  assert.ok(s.samples.length <= W / EVERY + 1, `kept ${s.samples.length}`)
  assert.ok(s.samples[0].at >= 9 * W)
  let dense = createSampler(W)
  for (let t = 0; t < MAX_SAMPLES + 100; t++) dense = observe(dense, { functions: {} }, t)
  assert.equal(dense.samples.length, MAX_SAMPLES)
  // Two samples at one instant: the later wins.
  let same = observe(createSampler(W), { functions: { a: m({ rps: 1 }) } }, 10)
  same = observe(same, { functions: { a: m({ rps: 2 }) } }, 10)
  assert.equal(same.samples.length, 1)
  assert.equal(same.samples[0].totals.rps, 2)
  assert.equal(sampleEveryMs(W), 5000)
  assert.equal(sampleEveryMs(12_000), 1000)
})

test('sampling at the suggested rate judges a window on time', () => {
  for (const w of [6_000, 60_000, 600_000]) {
    const every = sampleEveryMs(w)
    let s = createSampler(w)
    let t = 0
    for (; t <= w; t += every) s = observe(s, { functions: { a: m({ rps: 500 }), b: m() } }, t)
    const now = t - every
    const d = decide(s, input(now, { limits: { ...limits, windowMs: w }, localFunctions: ['a', 'b'] }))
    assert.equal(d.kind, 'divide', `window ${w}: ${JSON.stringify(d)}`)
  }
})
