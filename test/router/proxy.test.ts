// The proxy's handler over real sockets: response header filtering, a failure mid-body, routers sharing a port.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import { createRouter, buildRouteTable } from '../../src/router/index.ts'
import type { Router, Upstream, RouteEntry } from '../../src/router/index.ts'
import { setLogSink } from '../../src/core/log.ts'
import { startUpstream, send } from './helpers.ts'

setLogSink(() => {}, 'error')

async function startRouter (t: TestContext, routes: RouteEntry[], upstreams: Record<string, Upstream>, port = 0, reusePort = false): Promise<Router> {
  const router = createRouter({ port, host: '127.0.0.1', reusePort, resolve: (fn) => upstreams[fn] ?? { kind: 'unavailable', reason: 'not placed', retryAfterSeconds: 5 } })
  router.setRoutes(buildRouteTable(routes))
  await router.start()
  t.after(async () => { await router.stop() })
  return router
}

test('response headers: Connection-listed and hop-by-hop ones dropped, repeated ones kept in order, names as sent', async (t) => {
  const up = await startUpstream(t, (_req, res) => {
    res.writeHead(200, ['X-Up-Hop', 'dropped', 'X-Kept', 'yes', 'Connection', 'keep-alive, X-Up-Hop', 'Warning', '1', 'Warning', '2', 'Content-Length', '2'])
    res.end('ok')
  })
  const router = await startRouter(t, [{ function: 'a', domain: 'a.test', pathPrefix: null }], { a: { kind: 'local', port: up.port } })
  const r = await send(router.port, { headers: { host: 'a.test' } })
  assert.equal(r.status, 200)
  assert.equal(r.body.toString(), 'ok')
  assert.equal(r.headers['x-kept'], 'yes')
  assert.equal(r.headers['x-up-hop'], undefined)
  assert.equal(r.headers.warning, '1, 2')
})

test('an upstream that fails after the headers cuts the client connection instead of hanging', { timeout: 30_000 }, async (t) => {
  const up = await startUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-length': '1000' })
    res.write('partial')
    setTimeout(() => { res.socket?.destroy() }, 50)
  })
  const router = await startRouter(t, [{ function: 'b', domain: 'b.test', pathPrefix: null }], { b: { kind: 'local', port: up.port } })
  await assert.rejects(send(router.port, { headers: { host: 'b.test' } }))
  const after = await send(router.port, { headers: { host: 'nobody.test' } })
  assert.equal(after.status, 404) // and the router still serves
})

test('with reusePort two routers share one port and both answer', async (t) => {
  const up = await startUpstream(t, (_req, res) => { res.end('shared') })
  const routes = [{ function: 'c', domain: 'c.test', pathPrefix: null }]
  const first = await startRouter(t, routes, { c: { kind: 'local', port: up.port } }, 0, true)
  const second = await startRouter(t, routes, { c: { kind: 'local', port: up.port } }, first.port, true)
  assert.equal(second.port, first.port)
  for (let i = 0; i < 6; i++) assert.equal((await send(first.port, { headers: { host: 'c.test' } })).body.toString(), 'shared')
  assert.equal(first.stats('c').requestsTotal + second.stats('c').requestsTotal, 6)
})
