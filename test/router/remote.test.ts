// Forwarding to an owner cell over real member streams: pooled keep-alive streams, broken ones, owner change, tunnels.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Duplex } from 'node:stream'
import type { TestContext } from 'node:test'
import { createRouter, buildRouteTable, serveLink } from '../../src/router/index.ts'
import type { Router, Upstream, LinkOptions } from '../../src/router/index.ts'
import { createPeerNode } from '../../src/peers/index.ts'
import type { PeerNode } from '../../src/peers/index.ts'
import { setLogSink } from '../../src/core/log.ts'
import { tempDir, waitFor } from '../peers/helpers.ts'
import { startUpstream, send, sha256, wsEcho, wsExchange } from './helpers.ts'

setLogSink(() => {}, 'error')

const HTTP = '/organism/demo/http/1.0.0'
const HOST = 'app.example.org'

interface Owner { node: PeerNode, router: Router, seen: () => number, streams: Set<Duplex> }
interface Setup { forwarder: Router, fwd: PeerNode, owners: Owner[], opened: () => number, links: Duplex[], ownerIs: (i: number) => void }

async function startRouter (t: TestContext, resolve: () => Upstream, links?: Partial<LinkOptions>): Promise<Router> {
  const router = createRouter({ port: 0, host: '127.0.0.1', self: 'fwd-cell', links, resolve })
  // 127.0.0.1 too: a WebSocket client cannot choose its Host header.
  router.setRoutes(buildRouteTable([{ function: 'app', domain: HOST, pathPrefix: null }, { function: 'app', domain: '127.0.0.1', pathPrefix: null }]))
  await router.start()
  t.after(async () => { await router.stop() })
  return router
}

/** `count` owner cells, each a peer node whose router serves "app" locally, and a forwarder cell that owns nothing. */
async function setup (t: TestContext, count: number, links?: Partial<LinkOptions>): Promise<Setup> {
  const dir = await tempDir(t)
  const nodes: PeerNode[] = []
  t.after(async () => { await Promise.all(nodes.map(async (n) => { await n.stop() })) })
  const owners: Owner[] = []
  for (let i = 0; i < count; i++) {
    let seen = 0
    const fn = await startUpstream(t, (req, res) => {
      seen++
      if (req.method === 'POST') { res.writeHead(200, { 'x-owner': String(i) }); req.pipe(res); return }
      res.writeHead(200, { 'content-type': 'application/json', 'x-owner': String(i) })
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }))
    }, wsEcho)
    const router = await startRouter(t, () => ({ kind: 'local', port: fn.port }))
    const node = await createPeerNode({ identityFile: join(dir, `o${i}.key`), organism: 'demo', found: i === 0 })
    nodes.push(node)
    if (i > 0) await node.join(owners[0].node.addrs()[0], owners[0].node.admitToken(60_000))
    const streams = new Set<Duplex>()
    await node.handleStream(HTTP, (s) => { streams.add(s); s.on('close', () => streams.delete(s)); serveLink(s, router.port) })
    owners.push({ node, router, seen: () => seen, streams })
  }
  const fwd = await createPeerNode({ identityFile: join(dir, 'f.key'), organism: 'demo' })
  nodes.push(fwd)
  await fwd.join(owners[0].node.addrs()[0], owners[0].node.admitToken(60_000))
  await waitFor('everyone is a member', () => fwd.members().length === count + 1)
  let opened = 0
  let owner = 0
  const linksOut: Duplex[] = []
  const forwarder = await startRouter(t, () => {
    const cell = owners[owner].node.peerId
    return { kind: 'remote', cell, open: async () => { opened++; const d = await fwd.openStream(cell, HTTP); linksOut.push(d); return d } }
  }, links)
  return { forwarder, fwd, owners, opened: () => opened, links: linksOut, ownerIs: (i) => { owner = i } }
}

const get = async (port: number, path = '/x'): Promise<{ status: number, owner: string, body: any }> => {
  const r = await send(port, { path, headers: { host: HOST, 'x-forwarded-for': '10.0.0.9' } })
  return { status: r.status, owner: String(r.headers['x-owner']), body: r.status === 200 ? JSON.parse(r.body.toString()) : r.body.toString() }
}

test('sequential requests reuse one member stream; headers are those of a one-off request', async (t) => {
  const s = await setup(t, 1)
  for (let i = 0; i < 30; i++) {
    const r = await get(s.forwarder.port, `/item/${i}?q=1`)
    assert.equal(r.status, 200)
    assert.equal(r.body.url, `/item/${i}?q=1`)
    assert.equal(r.body.headers['x-organism-hop'], undefined, 'the hop header is between routers: no function sees it')
    assert.equal(r.body.headers['x-forwarded-host'], HOST)
    // The client's chain, the forwarder's client (loopback), then the owner router's peer: the link's local connection.
    assert.match(r.body.headers['x-forwarded-for'], /^10\.0\.0\.9, 127\.0\.0\.1, 127\.0\.0\.1$/)
  }
  assert.equal(s.opened(), 1)
  assert.equal(s.owners[0].seen(), 30)
})

test('concurrent requests open at most one stream each; later requests reuse them', async (t) => {
  const s = await setup(t, 1)
  const burst = await Promise.all(Array.from({ length: 10 }, async (_, i) => await get(s.forwarder.port, `/c/${i}`)))
  assert.deepEqual(burst.map((r) => r.status), Array(10).fill(200))
  const afterBurst = s.opened()
  assert.ok(afterBurst >= 1 && afterBurst <= 10, `opened ${afterBurst}`)
  for (let i = 0; i < 20; i++) assert.equal((await get(s.forwarder.port)).status, 200)
  assert.equal(s.opened(), afterBurst)
})

test('a request body and its answer stream both ways over a pooled stream', async (t) => {
  const s = await setup(t, 1)
  await get(s.forwarder.port)
  const body = randomBytes(2 * 1024 * 1024)
  const r = await send(s.forwarder.port, { method: 'POST', path: '/upload', headers: { host: HOST }, body })
  assert.equal(r.status, 200)
  assert.equal(sha256(r.body), sha256(body))
  assert.equal(s.opened(), 1)
})

test('a stream the owner closed is dropped from the pool; the next request opens a fresh one', async (t) => {
  const s = await setup(t, 1)
  assert.equal((await get(s.forwarder.port)).status, 200)
  for (const st of s.owners[0].streams) st.destroy()
  await waitFor('the forwarder saw the reset', () => s.links.every((l) => l.destroyed))
  assert.equal((await get(s.forwarder.port)).status, 200)
  assert.equal(s.opened(), 2)
})

test('a pooled stream that breaks on use: GET is retried on a fresh stream, a POST that was sent is not replayed', async (t) => {
  const s = await setup(t, 1)
  // As if the stream had been reset unseen: the next write on it fails.
  const breakPooled = (): void => { for (const l of s.links) if (!l.destroyed) l._write = (_c, _e, cb) => { cb(new Error('stream reset')) } }
  assert.equal((await get(s.forwarder.port)).status, 200)
  breakPooled()
  const r = await get(s.forwarder.port, '/after-break')
  assert.equal(r.status, 200)
  assert.equal(r.body.url, '/after-break')
  assert.equal(s.opened(), 2)
  assert.equal(s.owners[0].seen(), 2)

  breakPooled()
  const post = await send(s.forwarder.port, { method: 'POST', path: '/order', headers: { host: HOST }, body: Buffer.from('pay once') })
  assert.equal(post.status, 502)
  assert.match(post.body.toString(), /could not be reached over the peer link/)
  assert.equal(s.owners[0].seen(), 2, 'the POST reached nobody and was not sent again')
  assert.equal(s.opened(), 2)

  // Without a body too: its head went out, so it may have run.
  assert.equal((await get(s.forwarder.port)).status, 200)
  breakPooled()
  const empty = await send(s.forwarder.port, { method: 'POST', path: '/ping', headers: { host: HOST } })
  assert.equal(empty.status, 502)
  assert.equal(s.owners[0].seen(), 3)
})

test('a pooled stream found closed when handed out: a POST goes on a fresh stream, since none of it was sent', async (t) => {
  const s = await setup(t, 1)
  assert.equal((await get(s.forwarder.port)).status, 200)
  // A stream that closed while idle but is still listed as free (its 'close' event not yet handled).
  for (const l of s.links) Object.defineProperty(l, 'writable', { value: false })
  const post = await send(s.forwarder.port, { method: 'POST', path: '/order', headers: { host: HOST }, body: Buffer.from('pay once') })
  assert.equal(post.status, 200)
  assert.equal(post.body.toString(), 'pay once')
  assert.equal(s.owners[0].seen(), 2)
  assert.equal(s.opened(), 2)
})

test('owner change: requests follow the new owner; the old owner\'s idle streams close', async (t) => {
  const s = await setup(t, 2, { idleMs: 300 })
  for (let i = 0; i < 5; i++) assert.equal((await get(s.forwarder.port)).owner, '0')
  assert.equal(s.owners[0].streams.size, 1)
  s.ownerIs(1)
  for (let i = 0; i < 5; i++) assert.equal((await get(s.forwarder.port)).owner, '1')
  assert.equal(s.opened(), 2)
  await waitFor('idle streams closed on both owners', () => s.owners[0].streams.size === 0 && s.owners[1].streams.size === 0)
  assert.equal((await get(s.forwarder.port)).owner, '1')
  assert.equal(s.opened(), 3)
})

test('a WebSocket to a remote owner is tunnelled over its own stream', async (t) => {
  const s = await setup(t, 1)
  assert.deepEqual(await wsExchange(`ws://127.0.0.1:${s.forwarder.port}/chat`, ['hello', 'y'.repeat(1000)]), ['hello', 'y'.repeat(1000)])
})

test('an owner that cannot be reached gets the 502 page, twice in a row (no failed stream is kept)', async (t) => {
  const s = await setup(t, 1)
  const router = await startRouter(t, () => ({ kind: 'remote', cell: 'gone', open: async () => await s.fwd.openStream('12D3KooWNotAMemberAtAllxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', HTTP) }))
  for (let i = 0; i < 2; i++) {
    const r = await send(router.port, { headers: { host: HOST } })
    assert.equal(r.status, 502)
    assert.match(r.body.toString(), /could not be reached over the peer link: .*not a member/)
  }
})
