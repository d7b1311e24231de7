// The membrane's teeth: an operator's signed expulsion removes a member everywhere (its connections, its signatures,
// a later join), admissions expire unless live members renew them, and a whole organism switched off keeps its members.
// Real ssh-keygen signatures (the genome's operator keys), real libp2p nodes on loopback.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { closeMembership, createPeerNode, signAdmission } from '../../src/peers/index.ts'
import type { PeerNode, VerifyExpulsion } from '../../src/peers/index.ts'
import { signOverride, verifyOverride } from '../../src/genome/index.ts'
import { isOrganismError } from '../../src/core/errors.ts'
import { setLogSink } from '../../src/core/log.ts'
import { tempDir, waitFor } from './helpers.ts'
import { testKeys } from '../genome/helpers.ts'

setLogSink(() => {})
const keys = testKeys('operator', 'intruder')
// What a cell does with the genome's allowed_signers (cell/override.ts expulsionCheck).
const verifyExpulsion: VerifyExpulsion = async (e, facts) => {
  await verifyOverride(`owner@demo.test ${keys.operator.publicKey}\n`, e, { organism: 'demo', kind: 'expel', peer: facts.peer, successor: facts.successor }, null)
}
const expulsion = async (peer: string, successor: string | null = null, key = keys.operator.path) => await signOverride(key, { organism: 'demo', kind: 'expel', peer, successor })

async function cell () {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key).toString() }
}
const admit = async (by: { key: Parameters<typeof signAdmission>[0], id: string }, who: { id: string }, at: number) =>
  await signAdmission(by.key, { organism: 'demo', peerId: who.id, admittedBy: by.id, issuedAt: at })

test('what an expelled cell signed counts for nothing; a cell renewed by another member stays; the founder hands over the root', async () => {
  const [g, a, b, c, sybil] = await Promise.all([cell(), cell(), cell(), cell(), cell()])
  const founding = await admit(g, g, 1)
  const records = [await admit(g, a, 2), await admit(a, b, 3), await admit(g, c, 4), await admit(a, sybil, 5), await admit(c, b, 6)]
  const all = await closeMembership(founding, records, 'demo')
  assert.deepEqual([...all.members].sort(), [g, a, b, c, sybil].map((x) => x.id).sort())
  const out = await closeMembership(founding, records, 'demo', { revoked: new Map([[a.id, null]]) })
  assert.deepEqual([...out.members].sort(), [g, b, c].map((x) => x.id).sort(), 'b stays through c; the sybil only a vouched for goes')
  assert.ok(out.rejected.some((r) => r.record.peerId === sybil.id))
  // The founder expelled without a successor leaves no root; with c as successor, what hangs from c stays.
  assert.equal((await closeMembership(founding, records, 'demo', { revoked: new Map([[g.id, null]]) })).root, null)
  const handed = await closeMembership(founding, records, 'demo', { revoked: new Map([[g.id, c.id]]) })
  assert.equal(handed.root, c.id)
  assert.deepEqual([...handed.members].sort(), [c.id, b.id].sort())
})

test('admissions expire at the horizon: a power cut keeps everyone, a cell in good standing before it may come back, a long-gone one not', async () => {
  const [g, a, b] = await Promise.all([cell(), cell(), cell()])
  const day = 24 * 3600_000
  const ttlMs = 30 * day
  const opts = (now: number) => ({ ttlMs, now: now * day })
  const founding = await admit(g, g, 0)
  const records = [await admit(g, a, 10 * day), await admit(g, b, 11 * day)]
  // Everything switched off for a year: judged at the median member's newest admission, nobody expired.
  const cut = await closeMembership(founding, records, 'demo', opts(400))
  assert.deepEqual([...cut.members].sort(), [g, a, b].map((x) => x.id).sort())
  assert.equal(cut.horizon, 10 * day)
  // One liar signing admissions dated now (or later) does not move the median either.
  const liar = await closeMembership(founding, [...records, await admit(a, a, 0), await admit(g, a, 900 * day)], 'demo', opts(400))
  assert.equal(liar.members.has(b.id), true)
  // Power back: g and a renew each other; b, still off, has lapsed, but it was in good standing before the cut.
  const back = [...records, await admit(a, g, 400 * day), await admit(g, a, 400 * day)]
  const after = await closeMembership(founding, back, 'demo', opts(400))
  assert.deepEqual([...after.members].sort(), [g, a].map((x) => x.id).sort())
  assert.ok(after.lapsed.has(b.id), 'b may ask any member to renew it')
  // Once most members were renewed twice since, a cell gone that long needs a new token.
  const later = await closeMembership(founding, [...back, await admit(a, g, 410 * day), await admit(g, a, 410 * day)], 'demo', opts(410))
  assert.equal(later.members.has(b.id), false)
  assert.equal(later.lapsed.has(b.id), false)
  // In an organism that runs: a cell last renewed 34 days ago has lapsed, and may still be renewed for a while.
  const running = await closeMembership(founding, [...records, await admit(a, g, 45 * day), await admit(g, a, 45 * day)], 'demo', opts(45))
  assert.equal(running.members.has(b.id), false)
  assert.ok(running.lapsed.has(b.id))
})

interface Lab { nodes: PeerNode[], dir: string }
async function node (lab: Lab, name: string, extra: Partial<Parameters<typeof createPeerNode>[0]> = {}): Promise<PeerNode> {
  const n = await createPeerNode({ identityFile: join(lab.dir, `${name}.key`), organism: 'demo', verifyExpulsion, renewCheckMs: 200, syncIntervalMs: 500, strangerGraceMs: 2000, timeoutMs: 3000, ...extra })
  lab.nodes.push(n)
  return n
}
const joinVia = async (n: PeerNode, sponsor: PeerNode): Promise<void> => { await n.join(sponsor.addrs()[0], sponsor.admitToken(60_000)) }

test('cell expel: the member is cut off everywhere, what it admitted stays through renewals, it cannot come back, newcomers learn it', async (t) => {
  const lab: Lab = { nodes: [], dir: await tempDir(t) }
  t.after(async () => { await Promise.all(lab.nodes.map(async (n) => { await n.stop() })) })
  const g = await node(lab, 'g', { found: true })
  const a = await node(lab, 'a')
  await joinVia(a, g)
  const b = await node(lab, 'b')
  await joinVia(b, a)
  const c = await node(lab, 'c')
  await joinVia(c, g)
  const cells = [g, a, b, c]
  await waitFor('every cell knows the four', () => cells.every((n) => n.members().length === 4), 300)
  // b was admitted by a; it asks another member to vouch for it too (renewal), so a's fall does not take b along.
  await waitFor('b holds an admission from a second member', () => g.admissions().some((r) => r.peerId === b.peerId && r.admittedBy !== a.peerId), 300)

  // An intruder's key, and an expulsion signed for another organism, change nothing.
  await assert.rejects(g.expel(await expulsion(a.peerId, null, keys.intruder.path)), (err) => isOrganismError(err, 'PEERS_EXPULSION_INVALID') && /not in the genome's allowed_signers/.test((err as Error).message))
  const other = await signOverride(keys.operator.path, { organism: 'other', kind: 'expel', peer: a.peerId, successor: null })
  await assert.rejects(g.expel(other), (err) => isOrganismError(err, 'PEERS_EXPULSION_INVALID'))
  // The founder cannot be expelled without a successor: the organism would have no root.
  await assert.rejects(c.expel(await expulsion(g.peerId)), (err) => isOrganismError(err, 'PEERS_EXPULSION_INVALID') && /successor/.test((err as Error).message))
  assert.ok(cells.every((n) => n.members().length === 4))

  const removed = await g.expel(await expulsion(a.peerId))
  assert.deepEqual(removed, [a.peerId])
  for (const n of [g, b, c]) await waitFor(`${n.peerId.slice(-6)} drops a`, () => !n.isMember(a.peerId) && n.isMember(b.peerId), 300)
  // Its links are closed and it gets no new one: a request from it fails.
  await waitFor('a holds no connection (members close theirs and refuse new ones)', () => a.stats().connections === 0, 300)
  await assert.rejects(a.request(c.peerId, '/organism/demo/members/1.0.0', new Uint8Array(0)))
  // A fresh token does not bring it back.
  await assert.rejects(a.join(c.addrs()[0], c.admitToken(60_000)), (err) => isOrganismError(err, 'PEERS_EXPELLED') || isOrganismError(err, 'PEERS_JOIN_FAILED'))
  assert.equal(c.isMember(a.peerId), false)
  // A cell that joins later gets the expulsion in its join answer and checks it itself.
  const d = await node(lab, 'd')
  await joinVia(d, b)
  assert.equal(d.isMember(a.peerId), false)
  assert.equal(d.isMember(b.peerId), true)
  assert.equal(d.expulsions().length, 1)
  // A restarted member keeps the expulsion (saved with its admissions) and checks it again.
  await c.stop()
  const c2 = await node(lab, 'c', { admissions: c.admissions(), expulsions: c.expulsions() })
  assert.equal(c2.isMember(a.peerId), false)
  assert.equal(c2.isMember(b.peerId), true)
})

test('admissions lapse when nobody renews them, and live members renew each other', async (t) => {
  const lab: Lab = { nodes: [], dir: await tempDir(t) }
  t.after(async () => { await Promise.all(lab.nodes.map(async (n) => { await n.stop() })) })
  const ttl = { admissionTtlMs: 3000, renewCheckMs: 200 }
  const g = await node(lab, 'g', { found: true, ...ttl })
  const a = await node(lab, 'a', ttl)
  await joinVia(a, g)
  const b = await node(lab, 'b', ttl)
  await joinVia(b, g)
  await waitFor('three members', () => [g, a, b].every((n) => n.members().length === 3), 300)
  // Three ttls later, with renewals every second, all are still members.
  await new Promise((resolve) => setTimeout(resolve, 9000))
  assert.ok([g, a, b].every((n) => n.members().length === 3), 'live members keep each other in')
  // Renewed lately (it joined 9 s ago): its newest admission is younger than one ttl.
  assert.ok(Math.max(...g.admissions().filter((r) => r.peerId === a.peerId).map((r) => r.issuedAt)) > Date.now() - 3000)
  // b goes away for good: once its admissions pass the ttl (a renewal elsewhere moves time on), it is a member no more.
  await b.stop()
  await waitFor('b lapsed on g and a', () => !g.isMember(b.peerId) && !a.isMember(b.peerId), 200, 100)
  assert.ok(g.isMember(a.peerId))
})
