// The membrane's pure decisions: which gossip passes, which names are ours, what strangers score.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { judgeGossip, appScore, STRANGER_SCORE, gossipThresholds } from '../../src/peers/membrane.ts'
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
