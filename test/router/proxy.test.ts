// The proxy's handler over real sockets: response header filtering, a failure mid-body, routers sharing a port.
import { test } from 'node:test'
import { connect } from 'node:net'
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import { createRouter, buildRouteTable } from '../../src/router/index.ts'
import type { Router, Upstream, RouteEntry } from '../../src/router/index.ts'
import { setLogSink } from '../../src/core/log.ts'
import { startUpstream, send } from './helpers.ts'

setLogSink(() => {}, 'error')

async function startRouter (t: TestContext, routes: RouteEntry[], upstreams: Record<string, Upstream>, port = 0, reusePort = false, connections?: number): Promise<Router> {
  const router = createRouter({ port, host: '127.0.0.1', reusePort, pool: connections == null ? undefined : { connections }, resolve: (fn) => upstreams[fn] ?? { kind: 'unavailable', reason: 'not placed', retryAfterSeconds: 5 } })
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

test('with every connection busy, requests wait in order; one whose client left while waiting is never sent', { timeout: 30_000 }, async (t) => {
  const seen: string[] = []
  let releaseFirst!: () => void
  const firstHeld = new Promise<void>((resolve) => { releaseFirst = resolve })
  const up = await startUpstream(t, (req, res) => {
    seen.push(req.url ?? '')
    if (req.url === '/first') void firstHeld.then(() => { res.end('first') })
    else res.end(req.url)
  })
  const router = await startRouter(t, [{ function: 'q', domain: 'q.test', pathPrefix: null }], { q: { kind: 'local', port: up.port } }, 0, false, 1)
  const first = send(router.port, { path: '/first', headers: { host: 'q.test' } })
  while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
  // Queued behind /first, then abandoned by its client.
  const gone = connect(router.port, '127.0.0.1', () => { gone.write('GET /gone HTTP/1.1\r\nHost: q.test\r\n\r\n') })
  gone.on('error', () => {})
  await new Promise((resolve) => setTimeout(resolve, 100))
  gone.destroy()
  await new Promise((resolve) => setTimeout(resolve, 100))
  const third = send(router.port, { path: '/third', headers: { host: 'q.test' } })
  await new Promise((resolve) => setTimeout(resolve, 100))
  releaseFirst()
  assert.equal((await first).body.toString(), 'first')
  assert.equal((await third).body.toString(), '/third')
  assert.deepEqual(seen, ['/first', '/third'])
})
