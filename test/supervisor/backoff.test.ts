// The pure restart policy and state rules: delays grow, cap, forget old exits, and mark crash loops.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { restartDelay, recentExits, canTransition, healthVerdict } from '../../src/supervisor/index.ts'

const opts = { initialMs: 100, maxMs: 1_000, factor: 2, crashLoopAfter: 5, windowMs: 10_000 }

test('first crash waits initialMs', () => {
  assert.deepEqual(restartDelay([1_000], 1_000, opts), { delayMs: 100, crashLoop: false })
})

test('delay doubles per recent exit and is capped at maxMs', () => {
  assert.equal(restartDelay([1, 2], 2, opts).delayMs, 200)
  assert.equal(restartDelay([1, 2, 3], 3, opts).delayMs, 400)
  assert.equal(restartDelay([1, 2, 3, 4], 4, { ...opts, crashLoopAfter: 100, maxMs: 500 }).delayMs, 500)
})

test('exits older than the window are forgotten', () => {
  const now = 50_000
  assert.deepEqual(restartDelay([1, 2, 3, 4, now], now, opts), { delayMs: 100, crashLoop: false })
  assert.deepEqual(recentExits([1, 45_000, now], now, opts), [45_000, now])
})

test('crashLoopAfter exits within the window mark a crash loop at the max delay', () => {
  const d = restartDelay([1, 2, 3, 4, 5], 5, opts)
  assert.deepEqual(d, { delayMs: 1_000, crashLoop: true })
  assert.equal(restartDelay([1, 2, 3, 4], 4, opts).crashLoop, false)
})

test('empty history behaves like a first crash; factor below 1 never shrinks the delay', () => {
  assert.equal(restartDelay([], 0, opts).delayMs, 100)
  assert.equal(restartDelay([1, 2, 3], 3, { ...opts, factor: 0.5 }).delayMs, 100)
})

test('state transitions: stop is always possible from a live state, stopping only ends in stopped', () => {
  for (const s of ['setup', 'starting', 'running', 'unhealthy', 'backoff', 'crash-loop', 'failed'] as const) assert.ok(canTransition(s, 'stopping'), s)
  assert.ok(!canTransition('stopping', 'running'))
  assert.ok(canTransition('running', 'unhealthy') && canTransition('unhealthy', 'running'))
  assert.ok(!canTransition('stopped', 'running'))
})

test('health verdict: unhealthy after N consecutive failures, healthy on the first pass', () => {
  assert.equal(healthVerdict('running', false, 1, 3), 'running')
  assert.equal(healthVerdict('running', false, 3, 3), 'unhealthy')
  assert.equal(healthVerdict('unhealthy', false, 1, 3), 'unhealthy')
  assert.equal(healthVerdict('unhealthy', true, 0, 3), 'running')
})
