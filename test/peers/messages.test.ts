// One-way member messages on long-lived channels: order, one channel per peer, strangers and bad frames refused,
// a broken channel replaced (the reopen logic with FakeStream, a stand-in for a libp2p stream).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { createMessageSender } from '../../src/peers/messages.ts'
import { logger } from '../../src/core/log.ts'
import { isOrganismError } from '../../src/core/errors.ts'
import { memberPair, rawNode, waitFor } from './helpers.ts'

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
    const s = await stranger.dialProtocol(multiaddr(genesis.addrs()[0]), P).catch((err: Error) => err)
    if (!(s instanceof Error)) {
      const frame = new Uint8Array([0, 0, 0, 4, 0x68, 0x69, 0x68, 0x69])
      try { s.send(frame) } catch { /* reset already */ }
      await waitFor('the attempt counted', () => genesis.stats().dropped.request >= 1)
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

/** FakeStream: the part of a libp2p stream the sender touches, so that a channel can be broken on purpose. */
class FakeStream extends EventTarget {
  status: 'open' | 'closed' = 'open'
  writeStatus: 'writable' | 'closed' = 'writable'
  writeBufferLength = 0
  inactivityTimeout = 120_000
  readonly sent: Uint8Array[] = []
  send (data: Uint8Array): boolean {
    if (this.status !== 'open') throw new Error('stream closed')
    this.sent.push(data)
    return true
  }

  abort (): void { this.break() }
  break (): void { this.status = 'closed'; this.writeStatus = 'closed'; this.dispatchEvent(new Event('close')) }
}

test('a channel that broke is replaced on the next send; a stalled one refuses rather than queues', async () => {
  const opened: FakeStream[] = []
  const sender = createMessageSender(
    { isMember: () => true, maxBytes: 1024, timeoutMs: 1000, log: logger('test'), drop: () => {} },
    async () => { const s = new FakeStream(); opened.push(s); return s as unknown as Stream }
  )
  await sender.send('peer', P, new Uint8Array([1]))
  await sender.send('peer', P, new Uint8Array([2]))
  assert.equal(opened.length, 1, 'one channel for both')
  assert.equal(opened[0].inactivityTimeout, 0, 'an idle channel is kept')
  opened[0].break()
  await sender.send('peer', P, new Uint8Array([3]))
  assert.equal(opened.length, 2, 'a new channel after the break')
  assert.deepEqual(opened[1].sent.map((f) => f.at(-1)), [3])
  opened[1].writeBufferLength = 2 * 1024 * 1024
  await assert.rejects(sender.send('peer', P, new Uint8Array([4])), (err) => isOrganismError(err, 'PEERS_REQUEST_FAILED'))
  assert.equal(opened[1].sent.length, 1, 'nothing queued on a stalled channel')
  sender.close()
})
