// Admission records and join tokens as pure functions: chains verify; forgeries, outsiders, other organisms do not.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { signAdmission, verifyAdmission, closeMembership, parseAdmission, Membership, TokenBook, encodeToken, decodeToken } from '../../src/peers/index.ts'
import { isOrganismError } from '../../src/core/errors.ts'

async function cell () {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key).toString() }
}

test('a chain genesis -> a -> b verifies in any order; the membership is its closure', async () => {
  const [g, a, b, outsider] = await Promise.all([cell(), cell(), cell(), cell()])
  const founding = await signAdmission(g.key, { organism: 'demo', peerId: g.id, admittedBy: g.id, issuedAt: 1 })
  const ra = await signAdmission(g.key, { organism: 'demo', peerId: a.id, admittedBy: g.id, issuedAt: 2 })
  const rb = await signAdmission(a.key, { organism: 'demo', peerId: b.id, admittedBy: a.id, issuedAt: 3 })
  assert.deepEqual(await verifyAdmission(founding, new Set(), 'demo'), { ok: true })
  assert.deepEqual(await verifyAdmission(ra, new Set([g.id]), 'demo'), { ok: true })
  const closure = await closeMembership(founding, [rb, ra], 'demo')
  assert.deepEqual([...closure.members].sort(), [g.id, a.id, b.id].sort())
  assert.equal(closure.rejected.length, 0)
  // The outsider signs for itself and for a friend: neither joins.
  const self = await signAdmission(outsider.key, { organism: 'demo', peerId: outsider.id, admittedBy: outsider.id, issuedAt: 4 })
  const friend = await signAdmission(outsider.key, { organism: 'demo', peerId: b.id, admittedBy: outsider.id, issuedAt: 4 })
  const withOutsider = await closeMembership(founding, [ra, self, friend], 'demo')
  assert.ok(!withOutsider.members.has(outsider.id))
  assert.ok(!withOutsider.members.has(b.id))
})

test('forged signature, admitter not a member, wrong organism and garbage are refused', async () => {
  const [g, a, b] = await Promise.all([cell(), cell(), cell()])
  const members = new Set([g.id])
  const good = await signAdmission(g.key, { organism: 'demo', peerId: a.id, admittedBy: g.id, issuedAt: 2 })
  // a signs but claims g admitted it.
  const forged = { ...(await signAdmission(a.key, { organism: 'demo', peerId: a.id, admittedBy: g.id, issuedAt: 2 })) }
  assert.equal((await verifyAdmission(forged, members, 'demo')).ok, false)
  // Tampering with any signed field breaks the signature.
  assert.equal((await verifyAdmission({ ...good, peerId: b.id }, members, 'demo')).ok, false)
  assert.equal((await verifyAdmission({ ...good, signature: good.signature.slice(0, -4) + 'AAAA' }, members, 'demo')).ok, false)
  const byOutsider = await signAdmission(b.key, { organism: 'demo', peerId: a.id, admittedBy: b.id, issuedAt: 2 })
  const v = await verifyAdmission(byOutsider, members, 'demo')
  assert.equal(v.ok, false)
  assert.match(v.ok ? '' : v.reason, /not a member/)
  assert.equal((await verifyAdmission(good, members, 'other')).ok, false)
  assert.equal(parseAdmission({ ...good, issuedAt: 'x' }), undefined)
  assert.equal(parseAdmission(null), undefined)
  assert.equal((await verifyAdmission({ ...good, admittedBy: 'not-a-peer-id' }, new Set(['not-a-peer-id']), 'demo')).ok, false)
})

test('Membership adopts an admission that arrives before its admitter', async () => {
  const [g, a, b] = await Promise.all([cell(), cell(), cell()])
  const m = new Membership('demo')
  await m.reset(await signAdmission(g.key, { organism: 'demo', peerId: g.id, admittedBy: g.id, issuedAt: 1 }), [])
  const rb = await signAdmission(a.key, { organism: 'demo', peerId: b.id, admittedBy: a.id, issuedAt: 3 })
  assert.equal((await m.add(rb)).ok, false)
  assert.equal((await m.add(await signAdmission(g.key, { organism: 'demo', peerId: a.id, admittedBy: g.id, issuedAt: 2 }))).ok, true)
  assert.deepEqual(m.members(), [g.id, a.id, b.id].sort())
  assert.equal(m.records()[0].peerId, g.id)
})

test('a token redeems once, expires, and unknown secrets are invalid', () => {
  const book = new TokenBook()
  book.issue('s1', 1000, 500)
  book.redeem('s1', 1200)
  assert.throws(() => book.redeem('s1', 1201), (err) => isOrganismError(err, 'PEERS_TOKEN_USED'))
  book.issue('s2', 1000, 500)
  assert.throws(() => book.redeem('s2', 1500), (err) => isOrganismError(err, 'PEERS_TOKEN_EXPIRED'))
  assert.throws(() => book.redeem('nope', 1000), (err) => isOrganismError(err, 'PEERS_TOKEN_INVALID'))
  const token = { organism: 'demo', peerId: 'p', addrs: ['/ip4/127.0.0.1/tcp/1'], secret: 'abc' }
  assert.deepEqual(decodeToken(encodeToken(token)), token)
  assert.throws(() => decodeToken('org1.!!!'), (err) => isOrganismError(err, 'PEERS_TOKEN_INVALID'))
  assert.throws(() => decodeToken('hello'), (err) => isOrganismError(err, 'PEERS_TOKEN_INVALID'))
})
