// The membrane's pure decisions: which gossip passes, which names are ours, what strangers score.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { judgeGossip, appScore, STRANGER_SCORE, gossipThresholds, Membrane } from '../../src/peers/membrane.ts'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { checkProtocol, topicName } from '../../src/peers/names.ts'
import { isOrganismError } from '../../src/core/errors.ts'

const members = new Set(['m1', 'm2'])
const isMember = (id: string): boolean => members.has(id)

test('gossip passes only when relay and author are members, signed and small enough', () => {
  const base = { signed: true, source: 'm1', author: 'm2', bytes: 10, membersTopic: false }
  assert.deepEqual(judgeGossip(base, isMember, 100), { accept: true })
  assert.deepEqual(judgeGossip({ ...base, source: 'x' }, isMember, 100), { accept: false, reject: true, blame: 'x', reason: 'relayed by a non-member' })
  assert.equal((judgeGossip({ ...base, signed: false, author: undefined }, isMember, 100) as { reject: boolean }).reject, true)
  assert.equal((judgeGossip({ ...base, bytes: 101 }, isMember, 100) as { reject: boolean }).reject, true)
  // A member relaying an unknown author is ignored, not rejected (no penalty for the relay).
  assert.deepEqual(judgeGossip({ ...base, author: 'new' }, isMember, 100), { accept: false, reject: false, blame: 'new', reason: 'author is not a member' })
  // On the members topic a newcomer's own hello passes the validator; the roster verifies its admission.
  assert.deepEqual(judgeGossip({ ...base, author: 'new', membersTopic: true }, isMember, 100), { accept: true })
})

test('strangers score below every gossipsub threshold that sends them anything', () => {
  const score = appScore(isMember)
  assert.equal(score('m1'), 0)
  assert.equal(score('x'), STRANGER_SCORE)
  assert.ok(STRANGER_SCORE < gossipThresholds.publishThreshold && STRANGER_SCORE < gossipThresholds.gossipThreshold)
})

test('protocols and topics stay inside the organism namespace', () => {
  checkProtocol('demo', '/organism/demo/state/1.0.0')
  for (const bad of ['/organism/other/state/1.0.0', '/organism/demo/state', '/organism/demo/members/1.0.0', '/ipfs/ping/1.0.0']) {
    assert.throws(() => { checkProtocol('demo', bad) }, (err) => isOrganismError(err, 'PEERS_PROTOCOL_INVALID'), bad)
  }
  assert.equal(topicName('demo', 'state'), 'organism/demo/state')
  assert.throws(() => topicName('demo', 'members'), (err) => isOrganismError(err, 'PEERS_PROTOCOL_INVALID'))
  assert.throws(() => topicName('demo', 'a/b'), (err) => isOrganismError(err, 'PEERS_PROTOCOL_INVALID'))
})

test('an address whose strangers idle out backs off, doubling, capped; others, members and a join are not held back', async () => {
  let now = 0
  const members = new Set<string>()
  const membrane = new Membrane({ isMember: (id) => members.has(id), maxStrangers: 16, now: () => now, maxBackoffMs: 8000 })
  const gate = membrane.gater()
  const ids = await Promise.all(Array.from({ length: 8 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
  const from = (ip: string) => ({ remoteAddr: { toString: () => `/ip4/${ip}/tcp/4000` } })
  const enter = (i: number, ip: string): boolean => !(gate.denyInboundEncryptedConnection?.(ids[i], from(ip) as never) as boolean)
  // A squatter from .66 idles its grace out: .66 waits 1 s, then 2 s after the next, 4, 8, and no more than 8.
  const waits: number[] = []
  for (let round = 0; round < 5; round++) {
    assert.equal(enter(round, '10.0.0.66'), true)
    membrane.strike(ids[round].toString())
    membrane.disconnected(ids[round].toString())
    assert.equal(enter(7, '10.0.0.66'), false, 'held back')
    waits.push(membrane.backoffUntil('/ip4/10.0.0.66') - now)
    now = membrane.backoffUntil('/ip4/10.0.0.66')
  }
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 8000])
  // Meanwhile another address is let in, and so is a member from the held-back one.
  now -= 1
  assert.equal(enter(5, '10.0.0.7'), true)
  members.add(ids[6].toString())
  assert.equal(enter(6, '10.0.0.66'), true)
  // Once it may come again, a join from it clears it.
  now += 1
  assert.equal(enter(7, '10.0.0.66'), true)
  membrane.admitted(ids[7].toString())
  assert.equal(membrane.backoffUntil('/ip4/10.0.0.66'), 0)
  // Strikes are forgotten after ten quiet minutes: the next starts at 1 s again.
  assert.equal(enter(0, '10.0.0.9'), true)
  membrane.strike(ids[0].toString())
  membrane.disconnected(ids[0].toString())
  now += 11 * 60_000
  assert.equal(enter(1, '10.0.0.9'), true)
  membrane.strike(ids[1].toString())
  assert.equal(membrane.backoffUntil('/ip4/10.0.0.9') - now, 1000)
})
