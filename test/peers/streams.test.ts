// Byte streams between members: large data both ways with backpressure; a stranger's stream is reset.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { memberPair, rawNode, waitFor } from './helpers.ts'
import { isOrganismError } from '../../src/core/errors.ts'

const ECHO = '/organism/demo/echo-stream/1.0.0'
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

test('member streams', async (t) => {
  // The echo side pipes what it reads straight back: both directions are busy at once.
  const { genesis, member, nodes } = await memberPair(t, async (g) => { await g.handleStream(ECHO, (stream) => { void pipeline(stream, stream).catch(() => {}) }) })

  await t.test('8 MB go out and come back intact', async () => {
    const data = randomBytes(8 * 1024 * 1024)
    const stream = await member.openStream(genesis.peerId, ECHO)
    const back: Buffer[] = []
    const reading = (async () => { for await (const c of stream) back.push(c as Buffer) })()
    for (let at = 0; at < data.length; at += 64 * 1024) {
      if (!stream.write(data.subarray(at, at + 64 * 1024))) await new Promise((r) => stream.once('drain', r))
    }
    stream.end()
    await reading
    assert.equal(sha(Buffer.concat(back)), sha(data))
  })

  await t.test('a stranger cannot open a member stream', async () => {
    const stranger = await rawNode()
    nodes.push(stranger)
    const s = await stranger.dialProtocol(multiaddr(genesis.addrs()[0]), ECHO).catch((err: Error) => err)
    if (s instanceof Error) return // refused at negotiation: fine
    // The member may reset the stream before our first write: that is a refusal too.
    try { s.send(new TextEncoder().encode('let me in')) } catch { /* reset already */ }
    let got = 0
    try { for await (const c of s) got += c.byteLength } catch { /* reset: expected */ }
    assert.equal(got, 0, 'nothing came back to the stranger')
    await waitFor('the attempt counted', () => genesis.stats().dropped.request >= 1)
  })

  await t.test('a stream on a protocol the member does not serve is PEERS_PROTOCOL_UNSUPPORTED (a move then falls back to move/1.0.0)', async () => {
    await assert.rejects(member.openStream(genesis.peerId, '/organism/demo/move/9.0.0'), (err) => isOrganismError(err, 'PEERS_PROTOCOL_UNSUPPORTED'))
    await assert.rejects(member.request(genesis.peerId, '/organism/demo/nobody/1.0.0', new Uint8Array(1)), (err) => isOrganismError(err, 'PEERS_PROTOCOL_UNSUPPORTED'))
  })

  await t.test('opening a stream to a non-member fails with a clear code', async () => {
    await assert.rejects(member.openStream('12D3KooWNotAMemberAtAllxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', ECHO), /not a member/)
  })
})
