// The router over real sockets: proxying, streaming, forwarded headers, error pages, WebSocket, metrics, isolation.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, createServer as createNetServer } from 'node:net'
import { createServer } from 'node:http'
import { Readable } from 'node:stream'
import { randomBytes, createHash } from 'node:crypto'
import type { TestContext } from 'node:test'
import { createRouter, buildRouteTable } from '../../src/router/index.ts'
import type { Router, Upstream, RouteEntry } from '../../src/router/index.ts'
import { formatPrometheus } from '../../src/core/prometheus.ts'
import { setLogSink } from '../../src/core/log.ts'
import { startUpstream, send, sha256, wsEcho, wsExchange } from './helpers.ts'

setLogSink(() => {}, 'error')

async function startRouter (t: TestContext, routes: RouteEntry[], upstreams: Record<string, Upstream>, maxHeaderSize?: number, holdMs?: number): Promise<Router> {
  const router = createRouter({ port: 0, host: '127.0.0.1', maxHeaderSize, holdMs, resolve: (fn) => upstreams[fn] ?? { kind: 'unavailable', reason: 'not placed', retryAfterSeconds: 5 } })
  router.setRoutes(buildRouteTable(routes))
  await router.start()
  t.after(async () => { await router.stop() })
  return router
}

/** A port nobody listens on: bind one, then close it. */
async function deadPort (): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const addr = s.address()
  await new Promise<void>((resolve) => s.close(() => { resolve() }))
  return typeof addr === 'object' && addr != null ? addr.port : 0
}

/**
 * A port held for the test whose every connection is reset at once: a function that fails. (A port merely closed
 * again, as deadPort does, can be taken meanwhile by a listener of a test running beside this one, which then never
 * answers.)
 */
async function resettingPort (t: { after: (fn: () => Promise<void>) => void }): Promise<number> {
  const s = createNetServer((sock) => { sock.resetAndDestroy() })
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  t.after(async () => { await new Promise<void>((resolve) => { s.close(() => { resolve() }) }) })
  return (s.address() as { port: number }).port
}

test('GET is proxied with method, path, headers and status; hop-by-hop headers dropped; X-Forwarded-* set', async (t) => {
  const up = await startUpstream(t, (req, res) => {
    res.writeHead(207, { 'x-up': 'yes', 'content-type': 'application/json', 'keep-alive': 'timeout=5', 'set-cookie': ['a=1', 'b=2'] })
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }))
  })
  const router = await startRouter(t, [{ function: 'app', domain: 'app.example.org', pathPrefix: '/v1' }], { app: { kind: 'local', port: up.port } })
  const r = await send(router.port, {
    method: 'DELETE',
    path: '/v1/items/7?full=1',
    headers: { host: 'App.Example.org:8080', 'x-custom': 'kept', 'x-forwarded-for': '203.0.113.9', te: 'trailers', 'proxy-authorization': 'secret', connection: 'keep-alive, x-hop', 'x-hop': 'dropped' }
  })
  assert.equal(r.status, 207)
  assert.equal(r.headers['x-up'], 'yes')
  assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2'])
  assert.equal(r.headers['keep-alive'] === 'timeout=5', false)
  const seen = JSON.parse(r.body.toString()) as { method: string, url: string, headers: Record<string, string> }
  assert.equal(seen.method, 'DELETE')
  assert.equal(seen.url, '/v1/items/7?full=1') // prefix passed through unchanged
  assert.equal(seen.headers.host, 'App.Example.org:8080')
  assert.equal(seen.headers['x-custom'], 'kept')
  assert.equal(seen.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1')
  assert.equal(seen.headers['x-forwarded-proto'], 'http')
  assert.equal(seen.headers['x-forwarded-host'], 'App.Example.org:8080')
  for (const h of ['te', 'proxy-authorization', 'x-hop']) assert.equal(seen.headers[h], undefined, h)
})

test('a 20 MB body streams both ways unchanged (sha256 checked on each side)', async (t) => {
  let upstreamSha = ''
  const up = await startUpstream(t, (req, res) => {
    const h = createHash('sha256')
    req.on('data', (c: Buffer) => h.update(c))
    req.on('end', () => { upstreamSha = h.digest('hex') })
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    req.pipe(res) // echo while receiving: nothing may buffer the whole body
  })
  const router = await startRouter(t, [{ function: 'big', domain: 'big.test', pathPrefix: null }], { big: { kind: 'local', port: up.port } })
  const chunk = randomBytes(1 << 20)
  const sent = createHash('sha256')
  async function * body (): AsyncGenerator<Buffer> {
    for (let i = 0; i < 20; i++) { const c = Buffer.from(chunk); c[0] = i; sent.update(c); yield c }
  }
  const r = await send(router.port, { method: 'POST', path: '/upload', headers: { host: 'big.test' }, body: Readable.from(body()) })
  assert.equal(r.status, 200)
  assert.equal(r.body.length, 20 << 20)
  const sentSha = sent.digest('hex')
  assert.equal(upstreamSha, sentSha)
  assert.equal(sha256(r.body), sentSha)
  const s = router.stats('big')
  assert.ok(s.bytesIn >= 20 << 20 && s.bytesOut >= 20 << 20, JSON.stringify(s))
})

test('unknown host 404, malformed or missing host 400, unavailable 503 with Retry-After, dead upstream 502', async (t) => {
  const router = await startRouter(t, [
    { function: 'sleeping', domain: 'sleeping.test', pathPrefix: null },
    { function: 'dead', domain: 'dead.test', pathPrefix: null }
  ], { sleeping: { kind: 'unavailable', reason: 'restarting', retryAfterSeconds: 2.2 }, dead: { kind: 'local', port: await deadPort() } })
  const notFound = await send(router.port, { headers: { host: 'nobody.test' } })
  assert.equal(notFound.status, 404)
  assert.equal(notFound.headers['x-organism-error'], 'ROUTER_NO_ROUTE')
  assert.match(notFound.body.toString(), /nobody\.test/)
  assert.match(notFound.body.toString(), /organism\.yaml/)
  const bad = await send(router.port, { headers: { host: 'a..b' } })
  assert.equal(bad.status, 400)
  assert.equal(bad.headers['x-organism-error'], 'ROUTER_BAD_HOST')
  const missing = await send(router.port, { setHost: false })
  assert.equal(missing.status, 400)
  assert.match(missing.body.toString(), /missing Host/)
  const unavailable = await send(router.port, { headers: { host: 'sleeping.test' } })
  assert.equal(unavailable.status, 503)
  assert.equal(unavailable.headers['retry-after'], '3')
  assert.match(unavailable.body.toString(), /restarting/)
  const refused = await send(router.port, { headers: { host: 'dead.test' } })
  assert.equal(refused.status, 502)
  assert.equal(refused.headers['x-organism-error'], 'ROUTER_UPSTREAM_FAILED')
  assert.match(refused.body.toString(), /ECONNREFUSED/)
  assert.equal(router.stats('dead').errors.status5xx, 1)
})

test('an upstream that resets the connection gives 502, and the router keeps serving', async (t) => {
  const up = await startUpstream(t, (req, res) => { if (req.url === '/reset') req.socket.destroy(); else res.end('fine') })
  const router = await startRouter(t, [{ function: 'flaky', domain: 'flaky.test', pathPrefix: null }], { flaky: { kind: 'local', port: up.port } })
  assert.equal((await send(router.port, { path: '/reset', headers: { host: 'flaky.test' } })).status, 502)
  const ok = await send(router.port, { path: '/', headers: { host: 'flaky.test' } })
  assert.equal(ok.status, 200)
  assert.equal(ok.body.toString(), 'fine')
})

test('oversized request headers get a 431 answer, not a reset', { timeout: 30_000 }, async (t) => {
  const router = await startRouter(t, [{ function: 'x', domain: 'x.test', pathPrefix: null }], {}, 8 * 1024)
  const r = await send(router.port, { headers: { host: 'x.test', cookie: 'c=' + 'a'.repeat(64 * 1024) } })
  assert.equal(r.status, 431)
  assert.equal(r.headers['x-organism-error'], 'ROUTER_HEADER_TOO_LARGE')
  // A raw client that writes everything in one go and only then reads.
  const raw = await new Promise<string>((resolve, reject) => {
    const s = connect(router.port, '127.0.0.1', () => { s.write(`GET / HTTP/1.1\r\nHost: x.test\r\nX-Big: ${'b'.repeat(200 * 1024)}\r\n\r\n`) })
    let got = ''
    s.on('data', (c: Buffer) => { got += c.toString() })
    s.on('end', () => { resolve(got); s.destroy() })
    s.on('error', reject)
  })
  assert.match(raw, /^HTTP\/1\.1 431 /)
})

test('a client abort cancels the upstream request', { timeout: 30_000 }, async (t) => {
  let upstreamClosed!: () => void
  const closed = new Promise<void>((resolve) => { upstreamClosed = resolve })
  let arrived!: () => void
  const arrivedP = new Promise<void>((resolve) => { arrived = resolve })
  const up = await startUpstream(t, (req) => { req.socket.on('close', upstreamClosed); arrived() }) // never answers
  const router = await startRouter(t, [{ function: 'slow', domain: 'slow.test', pathPrefix: null }], { slow: { kind: 'local', port: up.port } })
  const s = connect(router.port, '127.0.0.1', () => { s.write('GET /wait HTTP/1.1\r\nHost: slow.test\r\n\r\n') })
  s.on('error', () => {})
  await arrivedP
  s.destroy()
  await closed // the upstream socket closes because undici aborted the request
})

test('WebSocket echo through the router', { timeout: 30_000 }, async (t) => {
  const up = await startUpstream(t, (_req, res) => { res.end() }, wsEcho)
  const router = await startRouter(t, [{ function: 'ws', domain: '127.0.0.1', pathPrefix: null }], { ws: { kind: 'local', port: up.port } })
  assert.deepEqual(await wsExchange(`ws://127.0.0.1:${router.port}/chat`, ['hello', 'x'.repeat(1000)]), ['hello', 'x'.repeat(1000)])
})

test('WebSocket to an unknown host or a dead function gets an HTTP error, not a hang', { timeout: 30_000 }, async (t) => {
  const router = await startRouter(t, [{ function: 'dead', domain: 'dead.test', pathPrefix: null }], { dead: { kind: 'local', port: await deadPort() } })
  const upgrade = async (host: string): Promise<string> => await new Promise((resolve, reject) => {
    const s = connect(router.port, '127.0.0.1', () => {
      s.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`)
    })
    let got = ''
    s.on('data', (c: Buffer) => { got += c.toString() })
    s.on('close', () => { resolve(got) })
    s.on('error', reject)
  })
  assert.match(await upgrade('nobody.test'), /^HTTP\/1\.1 404 /)
  assert.match(await upgrade('dead.test'), /^HTTP\/1\.1 502 /)
})

test('metrics after N requests: exact counts, user estimate, plausible latency', async (t) => {
  const up = await startUpstream(t, (_req, res) => { res.end('ok') })
  const router = await startRouter(t, [{ function: 'm', domain: 'm.test', pathPrefix: null }], { m: { kind: 'local', port: up.port } })
  for (let i = 0; i < 60; i++) {
    const r = await send(router.port, { headers: { host: 'm.test', cookie: `theme=x; sid=user${i % 12}`, 'user-agent': 'test' } })
    assert.equal(r.status, 200)
  }
  await send(router.port, { headers: { host: 'nobody.test' } })
  const s = router.stats('m')
  assert.equal(s.requestsTotal, 60)
  assert.equal(s.distinctUsers, 12)
  assert.equal(s.errors.status5xx, 0)
  assert.ok(s.requestsPerSecond > 0)
  assert.ok(s.p50Ms > 0 && s.p99Ms >= s.p50Ms, JSON.stringify(s))
  assert.ok(s.bytesIn > 60 * 30 && s.bytesOut > 60 * 2, JSON.stringify(s))
  const text = formatPrometheus(router.metrics())
  assert.match(text, /organism_http_requests_total\{function="m",code_class="2xx"\} 60/)
  assert.match(text, /organism_http_requests_total\{function="\(unrouted\)",code_class="4xx"\} 1/)
  assert.match(text, /organism_http_request_duration_seconds\{function="m",quantile="0.99"\} /)
  assert.match(text, /organism_http_distinct_users\{function="m"\} 12/)
  assert.match(text, /organism_http_requests_per_second\{function="m"\} /)
  assert.deepEqual(router.stats('unknown-fn').requestsTotal, 0)
})

test('one failing function does not affect another', async (t) => {
  const good = await startUpstream(t, (_req, res) => { res.end('good') })
  const router = await startRouter(t, [
    { function: 'good', domain: 'good.test', pathPrefix: null },
    { function: 'bad', domain: 'bad.test', pathPrefix: null }
  ], { good: { kind: 'local', port: good.port }, bad: { kind: 'local', port: await resettingPort(t) } })
  const results = await Promise.all(Array.from({ length: 40 }, async (_, i) => await send(router.port, { headers: { host: i % 2 === 0 ? 'good.test' : 'bad.test' } })))
  results.forEach((r, i) => { assert.equal(r.status, i % 2 === 0 ? 200 : 502) })
  assert.equal(router.stats('good').requestsTotal, 20)
  assert.equal(router.stats('good').errors.status5xx, 0)
  assert.equal(router.stats('bad').errors.status5xx, 20)
})

test('a request for a function that is starting or moving waits for it instead of a 503, up to the hold bound', async (t) => {
  const up = await startUpstream(t, (_req, res) => { res.end('here now') })
  const upstreams: Record<string, Upstream> = {
    moving: { kind: 'unavailable', reason: 'moving to another cell', retryAfterSeconds: 1, hold: true },
    gone: { kind: 'unavailable', reason: 'never coming back', retryAfterSeconds: 1, hold: true },
    failed: { kind: 'unavailable', reason: 'failed', retryAfterSeconds: 30 }
  }
  const router = await startRouter(t, ['moving', 'gone', 'failed'].map((fn) => ({ function: fn, domain: `${fn}.test`, pathPrefix: null })), upstreams, undefined, 600)
  const t0 = performance.now()
  const waiting = Promise.all(Array.from({ length: 5 }, async () => await send(router.port, { headers: { host: 'moving.test' } })))
  setTimeout(() => { upstreams.moving = { kind: 'local', port: up.port } }, 200)
  const answers = await waiting
  assert.deepEqual(answers.map((r) => [r.status, r.body.toString()]), Array(5).fill([200, 'here now']), 'held, then served: no 503')
  assert.ok(performance.now() - t0 >= 150, 'they waited for it')
  const stays = await send(router.port, { headers: { host: 'gone.test' } })
  assert.equal(stays.status, 503, 'the bound passed: the 503 says why')
  assert.match(stays.body.toString(), /never coming back/)
  const failed = await send(router.port, { headers: { host: 'failed.test' } })
  assert.equal(failed.status, 503, 'not worth waiting for: answered at once')
  assert.equal(router.stats('moving').errors.status5xx, 0)
})

test('a retired port gets nothing more on kept-alive connections: its stopping server closes while the load goes on', async (t) => {
  const up = createServer((req, res) => { req.resume(); req.on('end', () => { setTimeout(() => { res.end('ok') }, 2) }) })
  // A function that keeps idle connections a minute: its close() waits for every one of them to be closed.
  up.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => up.listen(0, '127.0.0.1', resolve))
  t.after(() => { up.closeAllConnections(); up.close() })
  const port = (up.address() as { port: number }).port
  let target: Upstream = { kind: 'local', port }
  const router = createRouter({ port: 0, host: '127.0.0.1', resolve: () => target })
  router.setRoutes(buildRouteTable([{ function: 'app', domain: 'app.test', pathPrefix: null }]))
  await router.start()
  t.after(async () => { await router.stop() })
  let stop = false
  const until = Date.now() + 10_000
  const loads = [1, 2, 3].map(async () => {
    for (let i = 0; i < 5000 && !stop && Date.now() < until; i++) await send(router.port, { headers: { host: 'app.test' } }).catch(() => null)
  })
  await new Promise((resolve) => setTimeout(resolve, 300))
  // What a cell does when a function stops: no more requests for it here, its port retired, its server closed.
  target = { kind: 'unavailable', reason: 'stopping', retryAfterSeconds: 1 }
  router.retirePort(port)
  const closed = await new Promise<boolean>((resolve) => { up.close(() => { resolve(!stop) }) ; setTimeout(() => { resolve(false) }, 8_000) })
  stop = true
  await Promise.all(loads)
  assert.equal(closed, true, 'the server closed while requests still came to the router')
})
