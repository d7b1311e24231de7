// HTTP/1.1 framing through the router's byte-level data path, over raw sockets: the request-smuggling cases
// (CL+TE, two Content-Lengths, obs-fold, bare LF, oversized chunks, unknown codings), chunk extensions, pipelining
// order, bodiless answers, re-framing for 1.1 and 1.0 clients, 100-continue and absolute-form targets.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, createServer as createNetServer } from 'node:net'
import type { Socket } from 'node:net'
import type { TestContext } from 'node:test'
import { createRouter, buildRouteTable } from '../../src/router/index.ts'
import type { Router } from '../../src/router/index.ts'
import { setLogSink } from '../../src/core/log.ts'
import { startUpstream } from './helpers.ts'

setLogSink(() => {}, 'error')

interface Seen { method: string, url: string, host: string, body: string, te: string | undefined }

/** An upstream that records every request it gets and answers with what it saw (or as `answer` says). */
async function recorder (t: TestContext, answer?: (s: Seen) => { status: number, delayMs?: number, headers?: Record<string, string>, body?: string }): Promise<{ port: number, seen: Seen[] }> {
  const seen: Seen[] = []
  const up = await startUpstream(t, (req, res) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => {
      const s: Seen = { method: req.method ?? '', url: req.url ?? '', host: req.headers.host ?? '', body: Buffer.concat(parts).toString(), te: req.headers['transfer-encoding'] }
      seen.push(s)
      const a = answer?.(s) ?? { status: 200 }
      setTimeout(() => {
        res.writeHead(a.status, a.headers ?? { 'content-type': 'text/plain' })
        res.end(a.body ?? `${s.method} ${s.url} ${s.body}`)
      }, a.delayMs ?? 0)
    })
  })
  return { port: up.port, seen }
}

/** An upstream that answers every request with these exact bytes, then closes if `close`. */
async function rawUpstream (t: TestContext, bytes: string, close: boolean): Promise<number> {
  const sockets = new Set<Socket>()
  const server = createNetServer((sock) => {
    sockets.add(sock)
    sock.on('close', () => sockets.delete(sock))
    let head = ''
    sock.on('data', (c: Buffer) => {
      head += c.toString('latin1')
      while (head.includes('\r\n\r\n')) {
        head = head.slice(head.indexOf('\r\n\r\n') + 4)
        if (close) sock.end(bytes); else sock.write(bytes)
      }
    })
    sock.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  })
  const addr = server.address()
  return typeof addr === 'object' && addr != null ? addr.port : 0
}

async function router (t: TestContext, port: number): Promise<Router> {
  const r = createRouter({ port: 0, host: '127.0.0.1', resolve: () => ({ kind: 'local', port }) })
  r.setRoutes(buildRouteTable([{ function: 'app', domain: 'app.test', pathPrefix: null }]))
  await r.start()
  t.after(async () => { await r.stop() })
  return r
}

/**
 * Writes `parts` to the router (one write each, `gapMs` apart) and returns every byte it answered until it closed
 * the connection, or until `untilText` appeared; bounded by 5 s.
 */
async function exchange (port: number, parts: string[], opts: { gapMs?: number, untilText?: RegExp, onData?: (so: string, sock: Socket) => void } = {}): Promise<string> {
  const sock = connect({ port, host: '127.0.0.1' })
  let got = ''
  return await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { sock.destroy(); resolve(got) }, 5_000)
    const done = (): void => { clearTimeout(timer); sock.destroy(); resolve(got) }
    sock.on('data', (c: Buffer) => {
      got += c.toString('latin1')
      opts.onData?.(got, sock)
      if (opts.untilText?.test(got) === true) done()
    })
    sock.on('end', done)
    sock.on('error', (err) => { clearTimeout(timer); if (got !== '') resolve(got); else reject(err) })
    sock.on('connect', async () => {
      for (const p of parts) {
        if (sock.destroyed) return
        sock.write(p, 'latin1')
        if (opts.gapMs != null) await new Promise((resolve) => setTimeout(resolve, opts.gapMs))
      }
    })
  })
}

const statuses = (raw: string): number[] => [...raw.matchAll(/^HTTP\/1\.[01] (\d{3})/gm)].map((m) => Number(m[1]))

// The classic smuggling shapes: each is refused with 400, the connection closes, and no request (in particular
// not the one hidden in the body) reaches the function.
const smuggling: Array<[string, string]> = [
  ['Content-Length with Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: app.test\r\n\r\n'],
  ['two different Content-Lengths', 'POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabcGET /smuggled HTTP/1.1\r\nHost: app.test\r\n\r\n'],
  ['an obs-fold continuation line', 'GET / HTTP/1.1\r\nHost: app.test\r\nX-Folded: a\r\n b\r\n\r\n'],
  ['bare LF line ends', 'GET / HTTP/1.1\nHost: app.test\n\nGET /smuggled HTTP/1.1\nHost: app.test\n\n'],
  ['a space before the colon', 'POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n'],
  ['an oversized chunk size', 'POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n'],
  ['chunked not the last coding', 'POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: app.test\r\n\r\n'],
  ['a bad chunk terminator', 'POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n'],
  ['a negative Content-Length', 'POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: -1\r\n\r\n']
]
for (const [name, bytes] of smuggling) {
  test(`smuggling: ${name} is refused with 400 and reaches no function`, async (t) => {
    const up = await recorder(t)
    const r = await router(t, up.port)
    const raw = await exchange(r.port, [bytes])
    assert.deepEqual(statuses(raw), [400], raw)
    assert.match(raw, /x-organism-error: ROUTER_BAD_REQUEST/i)
    assert.deepEqual(up.seen, [])
  })
}

test('a Transfer-Encoding other than chunked is answered 501 and not forwarded', async (t) => {
  const up = await recorder(t)
  const r = await router(t, up.port)
  const raw = await exchange(r.port, ['POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'])
  assert.deepEqual(statuses(raw), [501], raw)
  assert.deepEqual(up.seen, [])
})

test('chunk extensions and trailers are accepted; the function gets the decoded body, re-chunked', async (t) => {
  const up = await recorder(t)
  const r = await router(t, up.port)
  const raw = await exchange(r.port, ['POST /c HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n'])
  assert.deepEqual(statuses(raw), [200], raw)
  assert.equal(up.seen.length, 1)
  assert.equal(up.seen[0].body, 'hello world')
  assert.equal(up.seen[0].te, 'chunked')
})

test('pipelined requests are answered in the order they were sent, even when the first is the slowest', async (t) => {
  const up = await recorder(t, (s) => ({ status: 200, delayMs: s.url === '/1' ? 300 : s.url === '/2' ? 100 : 0 }))
  const r = await router(t, up.port)
  const reqs = ['/1', '/2', '/3'].map((p, i) => `GET ${p} HTTP/1.1\r\nHost: app.test\r\n${i === 2 ? 'Connection: close\r\n' : ''}\r\n`)
  const raw = await exchange(r.port, [reqs.join('')])
  assert.deepEqual(statuses(raw), [200, 200, 200], raw)
  const order = [...raw.matchAll(/GET (\/\d) /g)].map((m) => m[1])
  assert.deepEqual(order, ['/1', '/2', '/3'])
})

test('a pipelined POST body is not read as the next request', async (t) => {
  const up = await recorder(t)
  const r = await router(t, up.port)
  const body = 'GET /inner HTTP/1.1\r\nHost: app.test\r\n\r\n'
  const raw = await exchange(r.port, [`POST /outer HTTP/1.1\r\nHost: app.test\r\nContent-Length: ${body.length}\r\n\r\n${body}GET /after HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n`])
  assert.deepEqual(statuses(raw), [200, 200], raw)
  assert.deepEqual(up.seen.map((s) => s.url), ['/outer', '/after'])
  assert.equal(up.seen[0].body, body)
})

test('HEAD, 204 and 304 answers carry no body and the connection goes on', async (t) => {
  const up = await recorder(t, (s) => s.url === '/none' ? { status: 204, body: '' } : s.url === '/same' ? { status: 304, body: '' } : { status: 200, headers: { 'content-length': '5' }, body: 'hello' })
  const r = await router(t, up.port)
  const raw = await exchange(r.port, [
    'HEAD /h HTTP/1.1\r\nHost: app.test\r\n\r\n',
    'GET /none HTTP/1.1\r\nHost: app.test\r\n\r\n',
    'GET /same HTTP/1.1\r\nHost: app.test\r\n\r\n',
    'GET /last HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n'
  ], { gapMs: 50 })
  assert.deepEqual(statuses(raw), [200, 204, 304, 200], raw)
  // Only the last answer has a body: "hello" once.
  assert.equal(raw.split('hello').length - 1, 1, raw)
  assert.match(raw, /content-length: 5/i)
})

test('a close-delimited answer reaches a 1.1 client chunked on a live connection, and a 1.0 client as it came', async (t) => {
  const port = await rawUpstream(t, 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nuntil the end', true)
  const r = await router(t, port)
  const v11 = await exchange(r.port, ['GET /a HTTP/1.1\r\nHost: app.test\r\n\r\n', 'GET /b HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n'], { gapMs: 100 })
  assert.deepEqual(statuses(v11), [200, 200], v11)
  assert.match(v11, /transfer-encoding: chunked\r\n/i)
  assert.match(v11, /\r\nd\r\nuntil the end\r\n0\r\n\r\n/)
  const v10 = await exchange(r.port, ['GET /a HTTP/1.0\r\nHost: app.test\r\n\r\n'])
  assert.deepEqual(statuses(v10), [200], v10)
  assert.doesNotMatch(v10, /transfer-encoding/i)
  assert.match(v10, /\r\n\r\nuntil the end$/)
})

test('a chunked answer to a 1.0 client is decoded and the connection closes at its end', async (t) => {
  const port = await rawUpstream(t, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n', false)
  const r = await router(t, port)
  const raw = await exchange(r.port, ['GET / HTTP/1.0\r\nHost: app.test\r\n\r\n'])
  assert.deepEqual(statuses(raw), [200], raw)
  assert.doesNotMatch(raw, /transfer-encoding/i)
  assert.match(raw, /\r\n\r\nabcde$/)
})

test('a malformed answer from the function is a 502, not relayed', async (t) => {
  const port = await rawUpstream(t, 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 9\r\n\r\nabc', false)
  const r = await router(t, port)
  const raw = await exchange(r.port, ['GET / HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n'])
  assert.deepEqual(statuses(raw), [502], raw)
  assert.match(raw, /ROUTER_UPSTREAM_FAILED/)
})

test('Expect: 100-continue gets the 100 before the body is sent, then the answer', async (t) => {
  const up = await recorder(t)
  const r = await router(t, up.port)
  let sentBody = false
  const raw = await exchange(r.port, ['POST /e HTTP/1.1\r\nHost: app.test\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n'], {
    onData: (so, sock) => { if (!sentBody && /^HTTP\/1\.1 100 Continue\r\n\r\n/.test(so)) { sentBody = true; sock.write('data') } }
  })
  assert.deepEqual(statuses(raw), [100, 200], raw)
  assert.equal(up.seen[0].body, 'data')
})

test('an absolute-form target is routed by its own host, and the function sees origin form and that Host', async (t) => {
  const up = await recorder(t)
  const r = await router(t, up.port)
  const raw = await exchange(r.port, ['GET http://app.test/abs?q=1 HTTP/1.1\r\nHost: elsewhere.test\r\nConnection: close\r\n\r\n'])
  assert.deepEqual(statuses(raw), [200], raw)
  assert.equal(up.seen[0].url, '/abs?q=1')
  assert.equal(up.seen[0].host, 'app.test')
})

test('a request head larger than the bound is 431 and reaches no function', async (t) => {
  const up = await recorder(t)
  const r = await router(t, up.port)
  const raw = await exchange(r.port, [`GET / HTTP/1.1\r\nHost: app.test\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`])
  assert.deepEqual(statuses(raw), [431], raw)
  assert.deepEqual(up.seen, [])
})

test('Connection-listed headers are removed and Connection: host does not remove Host', async (t) => {
  const up = await startUpstream(t, (req, res) => { res.end(JSON.stringify(req.headers)) })
  const r = await router(t, up.port)
  const raw = await exchange(r.port, ['GET / HTTP/1.1\r\nHost: app.test\r\nX-Secret: s\r\nConnection: close, x-secret, host\r\n\r\n'])
  assert.deepEqual(statuses(raw), [200], raw)
  const seen = JSON.parse(raw.slice(raw.indexOf('{'), raw.lastIndexOf('}') + 1)) as Record<string, string>
  assert.equal(seen['x-secret'], undefined)
  assert.equal(seen.host, 'app.test')
})

test('a response head whose body comes later reaches the client at once (server-sent events, long polls)', async (t) => {
  const up = await startUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.flushHeaders()
    setTimeout(() => { res.end('data: late\n\n') }, 300)
  })
  const r = await router(t, up.port)
  const seen: string[] = []
  const raw = await exchange(r.port, ['GET /events HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n'], { onData: (so) => { seen.push(so) } })
  assert.match(seen[0], /^HTTP\/1\.1 200 /)
  assert.doesNotMatch(seen[0], /late/, 'the head came before the body, not held for it')
  assert.match(raw, /data: late/)
})

test('a request line claiming HTTP/0.9 or HTTP/2.0 is answered 505 and reaches no function', async (t) => {
  const up = await recorder(t)
  const r = await router(t, up.port)
  for (const v of ['HTTP/2.0', 'HTTP/0.9']) {
    const raw = await exchange(r.port, [`GET / ${v}\r\nHost: app.test\r\n\r\n`])
    assert.deepEqual(statuses(raw), [505], raw)
    assert.match(raw, /speaks HTTP\/1\.0 and HTTP\/1\.1/)
  }
  assert.deepEqual(up.seen, [])
})
