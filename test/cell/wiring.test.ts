// Where the router sends a request that came over a link: never on to a third cell, but back, once, to the cell that
// forwarded it when that cell owns the function now (a move finished while the request was on its way).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { upstreamFor, portRetirer } from '../../src/cell/wiring.ts'
import type { Supervisor, FunctionStatus } from '../../src/supervisor/index.ts'
import { realClock } from '../../src/core/clock.ts'
import { Feed } from '../../src/core/feed.ts'

test('a forwarded request goes back to its sender only when the sender owns the function now, and only once', () => {
  let owner = 'beta'
  const org = { self: 'alpha', plan: () => ({ route: () => ({ kind: 'remote' as const, cell: owner, epoch: 2 }) }) } as unknown as Parameters<typeof upstreamFor>[0]
  const resolve = upstreamFor(org, async () => { throw new Error('not opened in this test') }, {} as Supervisor, realClock)
  assert.equal(resolve('forum', false).kind, 'remote', 'a request from a client goes to the owner')
  const back = resolve('forum', true, 'GET', 'beta')
  assert.equal(back.kind, 'remote', 'beta forwarded it here, beta owns forum now: back to beta')
  assert.equal((back as { bounce?: boolean }).bounce, true, 'marked, so that it goes no further')
  assert.equal(resolve('forum', true, 'GET', 'gamma').kind, 'unavailable', 'never on to a third cell')
  assert.equal(resolve('forum', true, 'GET', 'beta back').kind, 'unavailable', 'a request sent back is not sent back again')
  owner = 'gamma'
  assert.equal(resolve('forum', true, 'GET', 'beta').kind, 'unavailable')
})

test('a port is retired when its function stops serving on it: stopping, exited, or restarted on another port', async () => {
  const feed = new Feed<FunctionStatus>()
  const retired: number[] = []
  const r = portRetirer({ changes: (signal) => feed.subscribe(signal) }, (p) => { retired.push(p) })
  await r.start()
  const st = (name: string, state: FunctionStatus['state'], port: number | null): FunctionStatus => ({ name, state, port }) as unknown as FunctionStatus
  const tick = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }
  feed.publish(st('forum', 'starting', 4001)); feed.publish(st('forum', 'running', 4001)); await tick()
  assert.deepEqual(retired, [], 'a function that serves keeps its port')
  feed.publish(st('forum', 'stopping', 4001)); await tick()
  assert.deepEqual(retired, [4001])
  feed.publish(st('forum', 'stopped', null)); await tick()
  assert.deepEqual(retired, [4001], 'retired once')
  feed.publish(st('quiz', 'running', 4002)); feed.publish(st('quiz', 'backoff', null)); feed.publish(st('quiz', 'running', 4003)); feed.publish(st('quiz', 'running', 4004)); await tick()
  assert.deepEqual(retired, [4001, 4002, 4003])
  await r.stop()
})
