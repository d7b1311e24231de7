// The request hold: a bounded number wait, each up to its deadline, retried together; a client that left is dropped.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHold } from '../../src/router/hold.ts'

test('at most maxHeld wait; they are retried together until placed, a gone one is dropped, flush retries the rest', async () => {
  const retried: Array<[string, number]> = []
  const gone = new Set<string>()
  let placed = false
  const hold = createHold<string>({ holdMs: 1000, maxHeld: 2, tickMs: 10 }, (item, until) => {
    retried.push([item, until])
    if (!placed) hold.keep(item, until, 0) // still not there: wait on
  }, (item) => gone.has(item))
  assert.equal(hold.deadline(500), 1500)
  assert.equal(hold.keep('a', 1000, 0), true)
  assert.equal(hold.keep('b', 1000, 0), true)
  assert.equal(hold.keep('c', 1000, 0), false, 'no room: answered at once')
  assert.equal(hold.keep('d', 1000, 1000), false, 'past its deadline')
  await new Promise((resolve) => setTimeout(resolve, 35))
  assert.ok(retried.filter(([i]) => i === 'a').length >= 2, 'looked at again on every tick')
  gone.add('b') // its client left
  const count = (x: string): number => retried.filter(([i]) => i === x).length
  const [a0, b0] = [count('a'), count('b')]
  await new Promise((resolve) => setTimeout(resolve, 35))
  assert.ok(count('a') > a0, 'a still waits')
  assert.equal(count('b'), b0, 'b is dropped, not retried')
  placed = true
  await new Promise((resolve) => setTimeout(resolve, 35))
  const after = retried.length
  await new Promise((resolve) => setTimeout(resolve, 35))
  assert.equal(retried.length, after, 'placed: nothing waits, the timer stopped')
  placed = false
  hold.keep('e', 1000, 0)
  hold.flush()
  assert.deepEqual(retried.at(-1), ['e', 0], 'a stopping router answers the waiting ones now')
})
