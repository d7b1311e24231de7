// A write's answer waits for its commit (the data on the replica): held whole, released when the commit resolves,
// replaced by a 503 when it fails; reads and error answers are never held.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import { createRouter, buildRouteTable } from '../../src/router/index.ts'
import type { Upstream } from '../../src/router/index.ts'
import { setLogSink } from '../../src/core/log.ts'
import { startUpstream, send } from './helpers.ts'

setLogSink(() => {}, 'error')

async function rig (t: TestContext, commit: () => Promise<void>, status = 201): Promise<{ port: number, events: string[] }> {
  const events: string[] = []
  const up = await startUpstream(t, (req, res) => { events.push(`function answered ${req.method}`); res.writeHead(req.method === 'GET' ? 200 : status, { 'content-type': 'text/plain' }); res.end('body of the answer') })
  const router = createRouter({
    port: 0,
    host: '127.0.0.1',
    resolve: (_fn, _fwd, method): Upstream => method === 'GET' ? { kind: 'local', port: up.port } : { kind: 'local', port: up.port, served: 'cell-a 7', commit: async () => { events.push('commit started'); await commit(); events.push('commit done') } }
  })
  router.setRoutes(buildRouteTable([{ function: 'app', domain: 'app.test', pathPrefix: null }]))
  await router.start()
  t.after(async () => { await router.stop() })
  return { port: router.port, events }
}

test('a 2xx answer to a write is sent only once its commit resolved, with the cell and epoch that served it', async (t) => {
  let release!: () => void
  const { port, events } = await rig(t, async () => { await new Promise<void>((resolve) => { release = resolve }) })
  const answer = send(port, { method: 'POST', path: '/x', headers: { host: 'app.test' }, body: Buffer.from('write') }).then((r) => { events.push('client got the answer'); return r })
  await new Promise((r) => setTimeout(r, 200))
  assert.deepEqual(events, ['function answered POST', 'commit started'], 'held while the commit runs')
  release()
  const r = await answer
  assert.equal(r.status, 201)
  assert.equal(r.body.toString(), 'body of the answer')
  assert.equal(r.headers['x-organism-served'], 'cell-a 7')
  assert.deepEqual(events.slice(2), ['commit done', 'client got the answer'])
})

test('a write whose commit fails is answered 503 ROUTER_WRITE_NOT_REPLICATED, never its 2xx', async (t) => {
  const { port } = await rig(t, async () => { throw new Error('the replica did not confirm') })
  const r = await send(port, { method: 'PUT', path: '/x', headers: { host: 'app.test' }, body: Buffer.from('write') })
  assert.equal(r.status, 503)
  assert.equal(r.headers['x-organism-error'], 'ROUTER_WRITE_NOT_REPLICATED')
  assert.match(r.body.toString(), /the replica did not confirm/)
  assert.equal(r.headers['retry-after'], '2')
})

test('reads, and writes the function refused, are not held', async (t) => {
  const { port, events } = await rig(t, async () => { await new Promise(() => {}) }, 422)
  assert.equal((await send(port, { method: 'GET', path: '/x', headers: { host: 'app.test' } })).status, 200)
  assert.equal((await send(port, { method: 'POST', path: '/x', headers: { host: 'app.test' }, body: Buffer.from('bad') })).status, 422)
  assert.equal(events.includes('commit started'), false)
})
