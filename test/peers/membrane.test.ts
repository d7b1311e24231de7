// Real libp2p cells on 127.0.0.1: joining with tokens, member gossip, and what a stranger cannot do.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { createPeerNode, decodeToken, encodeToken, JOIN_PROTOCOL } from '../../src/peers/index.ts'
import type { PeerNode, PeerNodeOptions } from '../../src/peers/index.ts'
import { frame, readFrame } from '../../src/peers/frame.ts'
import { isOrganismError } from '../../src/core/errors.ts'
import { FakeClock } from '../../src/core/clock.ts'
import { setLogSink } from '../../src/core/log.ts'
import { rawNode, str, tempDir, text, waitFor } from './helpers.ts'
import type { RawNode } from './helpers.ts'

const ECHO = '/organism/demo/echo/1.0.0'
const logLines: string[] = []
setLogSink((line) => { logLines.push(line) })

test('the membrane', async (t) => {
  const dir = await tempDir(t)
  const nodes: Array<PeerNode | RawNode> = []
  t.after(async () => { await Promise.all(nodes.map(async (n) => { await n.stop() })) })
  const clock = new FakeClock(Date.now())
  const cell = async (name: string, extra: Partial<PeerNodeOptions> = {}): Promise<PeerNode> => {
    const node = await createPeerNode({ identityFile: join(dir, `${name}.key`), organism: 'demo', syncIntervalMs: 200, strangerGraceMs: 60_000, maxMessageBytes: 64 * 1024, ...extra })
    nodes.push(node)
    await node.handle(ECHO, (body) => body)
    return node
  }
  const genesis = await cell('genesis', { found: true, clock })
  const a = await cell('a')
  const b = await cell('b')

  await t.test('genesis and two joiners all see three members', async () => {
    await a.join(genesis.addrs()[0], genesis.admitToken(60_000))
    // b uses the addresses inside the token.
    await b.join(undefined, genesis.admitToken(60_000))
    const all = [genesis, a, b]
    await waitFor('every cell sees 3 members', () => all.every((n) => n.members().length === 3))
    const ids = [genesis.peerId, a.peerId, b.peerId].sort()
    for (const n of all) assert.deepEqual(n.members(), ids)
    assert.equal(str(await a.request(b.peerId, ECHO, text('ping'))), 'ping')
  })

  await t.test('gossip from a member reaches the others', async () => {
    const seen = new Map<string, string[]>()
    for (const n of [genesis, b]) n.subscribe('news', (data, from) => { seen.set(n.peerId, [...(seen.get(n.peerId) ?? []), `${from}:${str(data)}`]) })
    let i = 0
    // Subscriptions spread asynchronously: publish until both have one message (bounded).
    await waitFor('a\'s gossip at genesis and b', async () => {
      await a.publish('news', text(`hello ${i++}`))
      return (seen.get(genesis.peerId)?.length ?? 0) > 0 && (seen.get(b.peerId)?.length ?? 0) > 0
    }, 100, 100)
    for (const list of seen.values()) assert.ok(list.every((m) => m.startsWith(`${a.peerId}:hello `)))
  })

  await t.test('a used token and an expired token are refused', async () => {
    const c = await cell('c')
    const token = genesis.admitToken(60_000)
    await c.join(undefined, token)
    // c made no request yet: a second link can only come from the roster dialing other members.
    await waitFor('c links to more members than its sponsor', () => c.stats().connections >= 2)
    const d = await cell('d')
    await assert.rejects(d.join(undefined, token), (err) => isOrganismError(err, 'PEERS_TOKEN_USED'))
    const short = genesis.admitToken(1000)
    clock.advance(1001)
    await assert.rejects(d.join(undefined, short), (err) => isOrganismError(err, 'PEERS_TOKEN_EXPIRED'))
    const forged = encodeToken({ ...decodeToken(short), secret: 'made-up' })
    await assert.rejects(d.join(undefined, forged), (err) => isOrganismError(err, 'PEERS_TOKEN_INVALID'))
    assert.ok(!genesis.isMember(d.peerId))
    await assert.rejects(d.publish('news', text('x')), (err) => isOrganismError(err, 'PEERS_NOT_MEMBER'))
    assert.throws(() => d.admitToken(1000), (err) => isOrganismError(err, 'PEERS_NOT_MEMBER'))
  })

  await t.test('a stranger cannot use the request protocol, read gossip, or inject gossip', async () => {
    const stranger = await rawNode()
    nodes.push(stranger)
    const target = multiaddr(genesis.addrs()[0])
    // Request protocol: the member resets the stream before answering.
    const droppedBefore = genesis.stats().dropped.request
    // The member may reset the stream before or after our bytes leave: either way no answer comes back.
    await assert.rejects(async () => {
      const stream = await stranger.dialProtocol(target, ECHO)
      stream.send(frame(text('let me in')))
      await readFrame(stream, 1024, AbortSignal.timeout(5000))
    })
    await waitFor('genesis logs the refused request', () => genesis.stats().dropped.request > droppedBefore)

    // Gossip: the stranger subscribes to the organism topic; members publish; it hears nothing.
    const topic = 'organism/demo/news'
    const heard: string[] = []
    stranger.services.pubsub.subscribe(topic)
    stranger.services.pubsub.addEventListener('message', (evt) => { heard.push(str(evt.detail.data)) })
    await waitFor('the stranger sees genesis subscribed', () => stranger.services.pubsub.getSubscribers(topic).some((p) => p.toString() === genesis.peerId))
    const atB: string[] = []
    const off = b.subscribe('news', (data) => { atB.push(str(data)) })
    let i = 0
    await waitFor('genesis gossip reaches b', async () => {
      await genesis.publish('news', text(`secret ${i++}`))
      return atB.some((m) => m.startsWith('secret'))
    }, 100, 100)
    assert.deepEqual(heard, [], 'the stranger received organism gossip')

    // Injection: the stranger publishes; genesis's validator rejects and counts it; no member handler sees it.
    const gossipDropped = genesis.stats().dropped.gossip
    const atGenesis: string[] = []
    genesis.subscribe('news', (data) => { atGenesis.push(str(data)) })
    await waitFor('genesis drops the stranger\'s gossip', async () => {
      await stranger.services.pubsub.publish(topic, text('injected'))
      return genesis.stats().dropped.gossip > gossipDropped
    }, 100, 100)
    assert.ok(!atGenesis.includes('injected') && !atB.includes('injected'))
    off()
    assert.ok(logLines.some((l) => l.includes('dropped gossip message')))

    // Join with no valid token: refused, and still a stranger.
    const js = await stranger.dialProtocol(target, JOIN_PROTOCOL)
    js.send(frame(text(JSON.stringify({ organism: 'demo', secret: 'guess' }))))
    await js.close()
    const answer = await readFrame(js, 64 * 1024 + 1, AbortSignal.timeout(5000))
    assert.match(str(answer.subarray(1)), /PEERS_TOKEN_INVALID/)
    assert.ok(!genesis.isMember(stranger.peerId.toString()))
  })
})
