// One-way member messages on long-lived channels: order, one channel per peer, strangers and bad frames refused,
// a broken channel replaced after the member restarts, a stalled one refusing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { join } from 'node:path'
import { isOrganismError } from '../../src/core/errors.ts'
import { memberPair, rawNode, waitFor } from './helpers.ts'
import { createPeerNode } from '../../src/peers/index.ts'

const P = '/organism/demo/notes/1.0.0'

test('member messages', async (t) => {
  const got: Array<{ text: string, from: string }> = []
  const { genesis, member, nodes } = await memberPair(t, async (g) => { await g.listen(P, (body, from) => { got.push({ text: new TextDecoder().decode(body), from }) }) })

  await t.test('200 messages arrive in order, from the member, over one channel', async () => {
    for (let i = 0; i < 200; i++) await member.send(genesis.peerId, P, new TextEncoder().encode(`m${i}`))
    await waitFor('all 200', () => got.length === 200)
    assert.deepEqual(got.map((g) => g.text), Array.from({ length: 200 }, (_, i) => `m${i}`))
    assert.ok(got.every((g) => g.from === member.peerId))
    assert.equal(member.stats().channels, 1)
  })

  await t.test('a message over the size limit is refused by the sender, and the channel goes on', async () => {
    await assert.rejects(member.send(genesis.peerId, P, new Uint8Array(2 * 1024 * 1024)), (err) => isOrganismError(err, 'PEERS_MESSAGE_TOO_LARGE'))
    await member.send(genesis.peerId, P, new TextEncoder().encode('after'))
    await waitFor('the next message', () => got.at(-1)?.text === 'after')
  })

  await t.test('a member announcing an oversized frame loses that channel, not the cell; a new one works', async () => {
    const before = genesis.stats().dropped.request
    const raw = await member.openStream(genesis.peerId, P)
    raw.on('error', () => { /* the reset this test provokes */ })
    raw.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]))
    await waitFor('the bad channel counted', () => genesis.stats().dropped.request > before)
    raw.destroy()
    await member.send(genesis.peerId, P, new TextEncoder().encode('still here'))
    await waitFor('a good message after it', () => got.at(-1)?.text === 'still here')
  })

  await t.test('a stranger cannot deliver a message', async () => {
    const stranger = await rawNode()
    nodes.push(stranger)
    const count = got.length
    const dropped = genesis.stats().dropped.request
    const s = await stranger.dialProtocol(multiaddr(genesis.addrs()[0]), P).catch((err: Error) => err)
    if (!(s instanceof Error)) {
      const frame = new Uint8Array([0, 0, 0, 4, 0x68, 0x69, 0x68, 0x69])
      try { s.send(frame) } catch { /* reset already */ }
      await waitFor('the attempt counted', () => genesis.stats().dropped.request > dropped)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(got.length, count, 'nothing from the stranger reached the handler')
  })

  await t.test('a protocol the member does not serve is PEERS_PROTOCOL_UNSUPPORTED (an older cell: callers fall back)', async () => {
    await assert.rejects(member.send(genesis.peerId, '/organism/demo/nobody-listens/1.0.0', new Uint8Array(1)), (err) => isOrganismError(err, 'PEERS_PROTOCOL_UNSUPPORTED'))
  })

  await t.test('sending to a non-member fails with a clear code', async () => {
    await assert.rejects(member.send('12D3KooWNotAMemberAtAllxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', P, new Uint8Array(1)), (err) => isOrganismError(err, 'PEERS_NOT_MEMBER'))
  })
})

test('a channel that broke (the member restarted) is replaced on the next send; a stalled one refuses rather than queues', async (t) => {
  const got: string[] = []
  const onMessage = (body: Uint8Array): void => { got.push(new TextDecoder().decode(body)) }
  const { genesis, member, nodes, dir } = await memberPair(t, async (g) => { await g.listen(P, onMessage) })
  await member.send(genesis.peerId, P, new TextEncoder().encode('first'))
  await waitFor('the first message', () => got.length === 1)
  assert.equal(member.stats().channels, 1)
  // Genesis restarts: same key, same address, its saved admissions. The member's channel died with the connection.
  const listen = genesis.addrs()[0].replace(/\/p2p\/.*$/, '')
  const admissions = genesis.admissions()
  await genesis.stop()
  const again = await createPeerNode({ identityFile: join(dir, 'g.key'), organism: 'demo', admissions, listen: [listen] })
  nodes.push(again)
  await again.listen(P, onMessage)
  await waitFor('a message through a new channel', async () => {
    await member.send(again.peerId, P, new TextEncoder().encode('second')).catch(() => {})
    return got.includes('second')
  })
  assert.equal(member.stats().channels, 1, 'the broken channel was replaced, not kept beside the new one')
  // Stalled: 2 MiB queued in one turn of the event loop, past the peer's yamux window, without a chance to flush.
  const big = new Uint8Array(100 * 1024)
  const results = await Promise.allSettled(Array.from({ length: 20 }, async () => { await member.send(again.peerId, P, big) }))
  const refused = results.filter((r) => r.status === 'rejected')
  assert.ok(refused.length > 0, 'messages past 1 MiB unsent are refused')
  assert.ok(refused.every((r) => isOrganismError((r as PromiseRejectedResult).reason, 'PEERS_REQUEST_FAILED')))
  const accepted = results.length - refused.length
  await waitFor('the accepted ones arrive, whole', () => got.filter((m) => m.length === big.length).length === accepted)
})
