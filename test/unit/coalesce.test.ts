// coalesced(): never two runs at once; triggers during a run collapse into exactly one more run; errors do not stop it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { coalesced } from '../../src/core/coalesce.ts'

test('triggers during a run give one more run, never an overlap', async () => {
  let active = 0
  let maxActive = 0
  let runs = 0
  let release: () => void = () => {}
  const trigger = coalesced(async () => {
    active++; runs++; maxActive = Math.max(maxActive, active)
    await new Promise<void>((r) => { release = r })
    active--
  }, () => {})
  trigger()
  trigger(); trigger(); trigger()
  release()
  await new Promise((r) => setImmediate(r))
  release()
  await new Promise((r) => setImmediate(r))
  assert.equal(runs, 2)
  assert.equal(maxActive, 1)
})

test('an error is reported and the next trigger runs again', async () => {
  const errors: unknown[] = []
  let runs = 0
  const trigger = coalesced(async () => { runs++; throw new Error('boom') }, (e) => errors.push(e))
  trigger()
  await new Promise((r) => setImmediate(r))
  trigger()
  await new Promise((r) => setImmediate(r))
  assert.equal(runs, 2)
  assert.equal(errors.length, 2)
})

test('idle() waits for the run under way, and for the one more run a trigger asked for', async () => {
  let release: () => void = () => {}
  let runs = 0
  const trigger = coalesced(async () => { runs++; await new Promise<void>((resolve) => { release = resolve }) }, () => {})
  await trigger.idle()
  trigger()
  trigger()
  let idle = false
  const waiting = trigger.idle().then(() => { idle = true })
  release()
  await new Promise((r) => setImmediate(r))
  assert.equal(idle, false, 'the second run is still under way')
  release()
  await waiting
  assert.equal(runs, 2)
})
