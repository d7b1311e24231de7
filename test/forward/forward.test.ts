// Cell-to-cell forwarding over TLS: a key handed out over the member link opens the owner's port (and nothing else
// does); the forwarding side uses it, asks again when the owner forgot it, and falls back to the member link when
// the port cannot be reached.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { duplexPair, PassThrough } from 'node:stream'
import type { Duplex } from 'node:stream'
import { once } from 'node:events'
import type { TLSSocket } from 'node:tls'
import { connectPsk } from '../../src/core/psk-tls.ts'
import { forwardConnector, openForwardServer, readTicket, serveTicket } from '../../src/forward/index.ts'
import type { ForwardServer } from '../../src/forward/index.ts'

/** An owner whose accepted connections echo what they get, prefixed with the peer the key was given to. */
async function echoOwner (t: { after: (fn: () => void) => void }): Promise<{ server: ForwardServer, peers: string[] }> {
  const peers: string[] = []
  const server = await openForwardServer({
    bindHost: '127.0.0.1',
    advertise: '127.0.0.1',
    accept: (sock: TLSSocket, peer) => { peers.push(peer); sock.on('data', (d: Buffer) => { sock.write(`${peer}:${d.toString()}`) }) }
  })
  t.after(() => { server.close() })
  return { server, peers }
}

async function roundTrip (s: Duplex, text: string): Promise<string> {
  s.write(text)
  const [d] = await once(s, 'data') as [Buffer]
  return d.toString()
}

test('a key given to a member opens the port for it, and its connections arrive named for it', async (t) => {
  const { server, peers } = await echoOwner(t)
  const sock = await connectPsk(server.ticket('cell-b'))
  t.after(() => { sock.destroy() })
  assert.equal(await roundTrip(sock, 'hello'), 'cell-b:hello')
  assert.deepEqual(peers, ['cell-b'])
})

test('no handshake without a key the owner gave: a made-up one, or one replaced four times since', async (t) => {
  const { server, peers } = await echoOwner(t)
  const real = server.ticket('cell-b')
  const forged = { ...real, psk: Buffer.alloc(32, 1).toString('base64') }
  await assert.rejects(connectPsk(forged, 1000), /cannot open a TLS path/)
  await assert.rejects(connectPsk({ ...real, identity: 'not-given' }, 1000), /cannot open a TLS path/)
  for (let i = 0; i < 3; i++) server.ticket('cell-b')
  const sock = await connectPsk(real, 1000) // still one of the last four
  assert.equal(await roundTrip(sock, 'x'), 'cell-b:x')
  sock.destroy()
  server.ticket('cell-b')
  await assert.rejects(connectPsk(real, 1000), /cannot open a TLS path/, 'four newer keys retire it')
  assert.deepEqual(peers, ['cell-b'])
})

test('a ticket travels over a stream; a malformed or oversized one is refused with a reason', async (t) => {
  const { server } = await echoOwner(t)
  const [a, b] = duplexPair()
  serveTicket(b, server.ticket('cell-b'))
  assert.equal((await readTicket(a)).port, (server.ticket('cell-c')).port)
  const junk = new PassThrough()
  junk.end('{"host":"x"}')
  await assert.rejects(readTicket(junk), /malformed forwarding ticket/)
  const big = new PassThrough()
  big.end('x'.repeat(5000))
  await assert.rejects(readTicket(big), /longer than 4096 bytes/)
})

test('the connector goes over TLS, asks for a new key when the owner forgot the old, and falls back to the member link', async (t) => {
  let owner = await echoOwner(t)
  let tickets = 0
  let members = 0
  const connector = forwardConnector({
    ticket: async () => { tickets++; return owner.server.ticket('cell-b') },
    member: async () => { members++; const [mine] = duplexPair(); return mine },
    retryMs: 60_000
  })
  const first = await connector.open('owner')
  assert.equal(await roundTrip(first, 'one'), 'cell-b:one')
  const second = await connector.open('owner')
  assert.equal(await roundTrip(second, 'two'), 'cell-b:two')
  assert.equal(tickets, 1, 'one key for many connections')
  assert.equal(connector.path('owner'), 'tls')
  first.destroy(); second.destroy()

  // The owner restarted: a new port and new keys. The cached key fails; a fresh one works.
  owner.server.close()
  owner = await echoOwner(t)
  const third = await connector.open('owner')
  assert.equal(await roundTrip(third, 'three'), 'cell-b:three')
  assert.equal(tickets, 2)
  third.destroy()

  // The port is closed for good: the member link carries the requests, and the port is not tried for a while.
  owner.server.close()
  await connector.open('owner')
  assert.equal(members, 1)
  assert.equal(connector.path('owner'), 'member')
  const before = tickets
  await connector.open('owner')
  assert.equal(members, 2)
  assert.equal(tickets, before, 'no new attempt while the port is known closed')
})

test('a burst of requests after the owner restarted asks for one new key, and all of them go over TLS', async (t) => {
  let owner = await echoOwner(t)
  let tickets = 0
  const connector = forwardConnector({ ticket: async () => { tickets++; return owner.server.ticket('cell-b') }, member: async () => { throw new Error('not the member link') } })
  ;(await connector.open('owner')).destroy()
  owner.server.close()
  owner = await echoOwner(t)
  const socks = await Promise.all(Array.from({ length: 10 }, async () => await connector.open('owner')))
  assert.deepEqual(await Promise.all(socks.map(async (s, i) => await roundTrip(s, String(i)))), socks.map((_s, i) => `cell-b:${i}`))
  for (const s of socks) s.destroy()
  assert.equal(tickets, 2, 'one key at first, one after the restart')
  assert.equal(connector.path('owner'), 'tls')
})
