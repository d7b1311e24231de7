// The edge is bounded (real sockets): a slowloris head and a trickled body are cut, one address cannot hold more
// than its share of connections, an edge client's hop header means nothing and never reaches a function,
// "Connection: host" cannot remove Host, and an absolute-form target routes by its own host.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import type { TestContext } from 'node:test'
import { createRouter, buildRouteTable, serveLink } from '../../src/router/index.ts'
import type { Router, RouterOptions } from '../../src/router/index.ts'
import { setLogSink } from '../../src/core/log.ts'
import { startUpstream, wsEcho } from './helpers.ts'
import { PassThrough, Duplex } from 'node:stream'

setLogSink(() => {})

async function edgeRouter (t: TestContext, upstreamPort: number, extra: Partial<RouterOptions> = {}, seen: boolean[] = []): Promise<Router> {
  const router = createRouter({
    port: 0, host: '127.0.0.1', ...extra,
    resolve: (fn, forwarded) => { seen.push(forwarded); return fn === 'app' ? { kind: 'local', port: upstreamPort } : { kind: 'unavailable', reason: 'none', retryAfterSeconds: 1 } }
  })
  router.setRoutes(buildRouteTable([{ function: 'app', domain: 'app.example.org', pathPrefix: null }, { function: 'other', domain: 'other.example.org', pathPrefix: null }]))
  await router.start()
  t.after(async () => { await router.stop() })
  return router
}

/** Writes raw bytes on a fresh connection and collects everything until the router closes it (bounded). */
async function raw (port: number, bytes: string, waitMs = 10_000): Promise<{ text: string, closedAfterMs: number }> {
  const s = connect(port, '127.0.0.1')
  const t0 = Date.now()
  let text = ''
  s.on('data', (c: Buffer) => { text += c.toString('latin1') })
  s.on('error', () => {})
  s.write(bytes)
  const timer = setTimeout(() => s.destroy(), waitMs)
  await once(s, 'close')
  clearTimeout(timer)
  return { text, closedAfterMs: Date.now() - t0 }
}

test('a head sent byte by byte too slowly, and a body trickled past the bound, are cut', async (t) => {
  const up = await startUpstream(t, (req, res) => { req.resume(); req.on('end', () => res.end('ok')) })
  const router = await edgeRouter(t, up.port, { headersTimeoutMs: 1000, requestTimeoutMs: 2500 })
  const s = connect(router.port, '127.0.0.1')
  s.on('error', () => {})
  let answer = ''
  s.on('data', (c: Buffer) => { answer += c.toString() })
  const t0 = Date.now()
  const head = 'GET / HTTP/1.1\r\nHost: app.example.org\r\nX-Slow: '
  let i = 0
  const drip = setInterval(() => { if (i < head.length && !s.destroyed) s.write(head[i++]) }, 200)
  await once(s, 'close')
  clearInterval(drip)
  assert.ok(Date.now() - t0 < 8000, 'cut within the bound (+ its check interval)')
  assert.match(answer, /^HTTP\/1\.1 408/)
  // A whole head, then a body that never ends.
  const b = connect(router.port, '127.0.0.1')
  b.on('error', () => {})
  let reply = ''
  b.on('data', (c: Buffer) => { reply += c.toString() })
  b.write('POST / HTTP/1.1\r\nHost: app.example.org\r\nContent-Length: 1000000\r\n\r\nabc')
  const trickle = setInterval(() => { if (!b.destroyed) b.write('x') }, 300)
  const t1 = Date.now()
  const guard = setTimeout(() => b.destroy(), 15_000)
  await once(b, 'close')
  clearInterval(trickle); clearTimeout(guard)
  assert.ok(Date.now() - t1 < 12_000, `the trickled upload was cut (${Date.now() - t1} ms)`)
  assert.doesNotMatch(reply, /^HTTP\/1\.1 200/, 'never answered as if whole')
})

test('one client address cannot hold more connections than its share; others still get in', async (t) => {
  const up = await startUpstream(t, (_req, res) => res.end('ok'))
  const router = await edgeRouter(t, up.port, { maxConnectionsPerAddress: 3 })
  const held: Socket[] = []
  t.after(() => { for (const s of held) s.destroy() })
  for (let i = 0; i < 3; i++) { const s = connect(router.port, '127.0.0.1'); held.push(s); await once(s, 'connect') }
  const fourth = await raw(router.port, 'GET / HTTP/1.1\r\nHost: app.example.org\r\n\r\n', 5000)
  assert.ok(fourth.closedAfterMs < 1000, `closed at once (${fourth.closedAfterMs} ms)`)
  assert.equal(fourth.text, '', 'the fourth connection is closed unanswered')
  held.pop()?.destroy()
  await new Promise((r) => setTimeout(r, 100))
  const again = await raw(router.port, 'GET / HTTP/1.1\r\nHost: app.example.org\r\nConnection: close\r\n\r\n')
  assert.match(again.text, /^HTTP\/1\.1 200/)
  for (const s of held) s.destroy()
})

test('a hop header from an edge client is not believed and never reaches the function; a member link\'s is', async (t) => {
  const got: Array<Record<string, string | string[] | undefined>> = []
  const up = await startUpstream(t, (req, res) => { got.push(req.headers); res.end('ok') })
  const seen: boolean[] = []
  const router = await edgeRouter(t, up.port, {}, seen)
  const r = await raw(router.port, 'GET / HTTP/1.1\r\nHost: app.example.org\r\nX-Organism-Hop: fake\r\nConnection: close\r\n\r\n')
  assert.match(r.text, /^HTTP\/1\.1 200/)
  assert.deepEqual(seen, [false], 'not treated as forwarded')
  assert.equal(got[0]['x-organism-hop'], undefined)
  // The same request through serveLink (how a member's stream reaches the router) is a forwarded one.
  const [ours, theirs] = duplexPair()
  serveLink(ours, router.port, '127.0.0.1', (p) => router.trustLinkPort(p))
  let text = ''
  theirs.on('data', (c: Buffer) => { text += c.toString() })
  theirs.write('GET / HTTP/1.1\r\nHost: app.example.org\r\nX-Organism-Hop: cell-b\r\nConnection: close\r\n\r\n')
  for (let i = 0; i < 100 && !text.includes('ok'); i++) await new Promise((r) => setTimeout(r, 20))
  assert.match(text, /^HTTP\/1\.1 200/)
  assert.deepEqual(seen, [false, true])
  theirs.destroy()
})

test('"Connection: host" keeps Host; an absolute-form target routes by its own host', async (t) => {
  const got: Array<{ host?: string, url?: string }> = []
  const up = await startUpstream(t, (req, res) => { got.push({ host: req.headers.host, url: req.url }); res.end('ok') })
  const router = await edgeRouter(t, up.port)
  const a = await raw(router.port, 'GET /x HTTP/1.1\r\nHost: app.example.org\r\nConnection: host, close\r\n\r\n')
  assert.match(a.text, /^HTTP\/1\.1 200/)
  assert.equal(got[0].host, 'app.example.org')
  const b = await raw(router.port, 'GET http://app.example.org/y?z=1 HTTP/1.1\r\nHost: other.example.org\r\nConnection: close\r\n\r\n')
  assert.match(b.text, /^HTTP\/1\.1 200/, 'routed to app (the target), not other (the Host header)')
  assert.deepEqual(got[1], { host: 'app.example.org', url: '/y?z=1' })
})

test('an upgraded tunnel with no byte either way for the idle bound is closed; a talking one is not', async (t) => {
  const up = await startUpstream(t, (_req, res) => res.end('ok'), wsEcho)
  const router = await edgeRouter(t, up.port, { tunnelIdleMs: 600 })
  const open = async (): Promise<{ s: Socket, closed: Promise<unknown>, got: () => string }> => {
    const s = connect(router.port, '127.0.0.1')
    s.on('error', () => {})
    let got = ''
    s.on('data', (c: Buffer) => { got += c.toString('latin1') })
    s.write('GET / HTTP/1.1\r\nHost: app.example.org\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
    // 'close' whatever came before it: the router stopping at the test's end may reset a tunnel still talking.
    return { s, closed: new Promise((resolve) => { s.once('close', resolve) }), got: () => got }
  }
  const quiet = await open()
  const talking = await open()
  // A masked text frame "hi" every 200 ms keeps the second one busy (bounded: 10 frames).
  const frame = Buffer.from([0x81, 0x82, 1, 2, 3, 4, 'h'.charCodeAt(0) ^ 1, 'i'.charCodeAt(0) ^ 2])
  let sent = 0
  const talk = setInterval(() => { if (sent++ < 10) talking.s.write(frame) }, 200)
  t.after(() => { clearInterval(talk); talking.s.destroy() })
  const t0 = Date.now()
  await quiet.closed
  assert.match(quiet.got(), /^HTTP\/1\.1 101/)
  assert.ok(Date.now() - t0 < 3000, `the quiet tunnel closed after ${Date.now() - t0} ms`)
  await new Promise((r) => setTimeout(r, 800))
  assert.equal(talking.s.destroyed, false, 'the talking tunnel is still open')
  clearInterval(talk)
  talking.s.destroy()
})

/** Two connected in-memory duplex ends (a member stream stand-in). */
function duplexPair (): [Duplex, Duplex] {
  const aToB = new PassThrough()
  const bToA = new PassThrough()
  const a = Duplex.from({ readable: bToA, writable: aToB })
  const b = Duplex.from({ readable: aToB, writable: bToA })
  return [a, b]
}
