// One compromised member against a cell's state engine (ed25519 signatures, as real cells use): records of
// non-members are dropped and not relayed, a writer's records are capped, and a restarted cell takes back its
// incarnation from its own signed record, so that it can refute what others still hold against it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  Engine, cellKey, placementKey, signRecord, seededRng, ed25519KeyPair, ed25519Signer, ed25519Verify, livenessOf,
  type Outgoing, type Signer
} from '../../src/state/index.ts'

const keys = new Map<string, Uint8Array>()
const signer = (id: string): Signer => { const kp = ed25519KeyPair(); keys.set(id, kp.publicKey); return ed25519Signer(id, kp.seed) }
const verify = ed25519Verify((id) => keys.get(id))
const body = (name: string, incarnation = 0) => ({ kind: 'cell' as const, name, addrs: { peer: [] }, load: { rps: 0, cpu: 0, memory: 0 }, functions: [], software: '0.1.0', genome: 'g', incarnation })
const own = (name: string) => ({ name, addrs: { peer: [] }, load: { rps: 0, cpu: 0, memory: 0 }, functions: [], software: '0.1.0', genome: 'g' })

function engine (id: string, members: string[], options = {}): Engine {
  const e = new Engine({ signer: signer(id), verify, rng: seededRng(1), now: 0, options })
  e.setRoster(members.filter((m) => m !== id), (m) => members.includes(m))
  return e
}
const relayed = (out: Outgoing[], key: string): boolean => out.some((o) => o.msg.t === 'push' && o.msg.recs.some((r) => (r as { key: string }).key === key))

test('a record written by a cell that is not a member is dropped and not relayed', () => {
  const a = engine('a', ['a', 'b', 'c'])
  const outsider = signer('x')
  const rec = signRecord(outsider, cellKey('x'), 1, body('x'))
  const out = a.receive('b', { t: 'push', recs: [rec] }, 1)
  assert.equal(a.store.has(cellKey('x')), false)
  assert.equal(relayed(out, cellKey('x')), false)
  assert.equal(a.stats.verdicts['not-member'], 1)
  assert.ok(a.drainEvents().some((e) => e.type === 'record-rejected' && e.verdict === 'not-member' && e.from === 'b'))
  // A member's own record goes in and on.
  const fromC = signRecord(signer('c'), cellKey('c'), 1, body('c'))
  assert.equal(relayed(a.receive('b', { t: 'push', recs: [fromC] }, 2), cellKey('c')), true)
})

test('a member that writes records without end is capped per writer, and the store in all', () => {
  const a = engine('a', ['a', 'b', 'm'], { maxKeysPerWriter: 10, maxRecords: 15 })
  const m = signer('m')
  const flood = Array.from({ length: 40 }, (_, i) => signRecord(m, placementKey(`fn-${i}`), i + 1, { kind: 'placement' as const, fn: `fn-${i}`, owner: 'm', epoch: 1, state: 'serving' as const }))
  a.receive('m', { t: 'push', recs: flood }, 1)
  assert.equal([...a.store.values()].filter((r) => r.writer === 'm').length, 10)
  assert.equal(a.stats.verdicts['over-quota'], 30)
  // m may still replace what it holds (its own record, a newer version of a placement it wrote).
  const newer = signRecord(m, placementKey('fn-0'), 100, { kind: 'placement' as const, fn: 'fn-0', owner: 'm', epoch: 1, state: 'moving' as const })
  a.receive('m', { t: 'push', recs: [newer] }, 2)
  assert.equal(a.store.get(placementKey('fn-0'))?.version, 100)
  // The whole store is capped too: b gets 4 more keys, then no more (15 in all).
  const b = signer('b')
  const more = Array.from({ length: 8 }, (_, i) => signRecord(b, placementKey(`b-${i}`), i + 1, { kind: 'placement' as const, fn: `b-${i}`, owner: 'b', epoch: 1, state: 'serving' as const }))
  a.receive('b', { t: 'push', recs: more }, 3)
  assert.equal(a.store.size, 15)
})

test('a restarted cell takes its incarnation back from its own record, and refutes the death others hold at it', () => {
  const e1 = engine('e', ['a', 'e'])
  // e refuted suspicions five times before it restarted: its signed record says incarnation 5.
  for (let i = 0; i < 5; i++) e1.receive('a', { t: 'push', recs: [], m: [{ id: 'e', s: 'suspect', inc: i, from: 'a' }] }, i)
  assert.equal(e1.detector.inc, 5)
  e1.setOwnRecord(own('e'))
  const lastRecord = e1.store.get(cellKey('e'))!
  assert.equal((lastRecord.body as { incarnation: number }).incarnation, 5)
  // e comes back with nothing; a still holds it dead at 5 (and its record).
  const e2 = new Engine({ signer: { id: 'e', sign: (e1 as unknown as { signer: Signer }).signer.sign }, verify, rng: seededRng(2), now: 100 })
  e2.setRoster(['a'], (m) => m === 'a' || m === 'e')
  e2.setOwnRecord(own('e'))
  assert.equal(e2.detector.inc, 0)
  // An accusation at 5 before e knows its past: ignored (it could be a lie as well as news).
  e2.receive('a', { t: 'push', recs: [], m: [{ id: 'e', s: 'dead', inc: 5, from: 'a' }] }, 101)
  assert.equal(e2.detector.inc, 0)
  // Anti-entropy brings e its own old record: it jumps past the version, takes incarnation 5, and re-signs.
  e2.receive('a', { t: 'ae-reply', recs: [lastRecord], want: [] }, 102)
  assert.equal(e2.detector.inc, 5)
  e2.receive('a', { t: 'push', recs: [], m: [{ id: 'e', s: 'dead', inc: 5, from: 'a' }] }, 103)
  assert.equal(e2.detector.inc, 6, 'refuted, one step above')
  // a believes the refutation once e's record at 6 reaches it.
  const a = engine('a', ['a', 'e'])
  a.receive('e', { t: 'push', recs: [lastRecord], m: [{ id: 'e', s: 'dead', inc: 5, from: 'a' }] }, 104)
  assert.equal(livenessOf(a.detector, 'e').status, 'dead')
  a.receive('e', { t: 'ae-reply', recs: [e2.store.get(cellKey('e'))!], want: [] }, 105)
  assert.deepEqual(livenessOf(a.detector, 'e'), { status: 'alive', inc: 6 })
})

test('records of a cell that is no longer a member are forgotten, and stay out when a member still relays them', () => {
  // A fresh id: the verifier keeps the first key it saw for each id.
  let members = ['a', 'b', 'q']
  const a = new Engine({ signer: signer('a'), verify, rng: seededRng(1), now: 0 })
  a.setRoster(['b', 'q'], (id) => members.includes(id))
  const q = signer('q')
  const recs = [signRecord(q, cellKey('q'), 1, body('q')), signRecord(q, placementKey('forum'), 2, { kind: 'placement' as const, fn: 'forum', owner: 'q', epoch: 9, state: 'serving' as const })]
  a.receive('q', { t: 'push', recs }, 1)
  assert.equal([...a.store.values()].filter((r) => r.writer === 'q').length, 2)
  a.drainEvents()
  // q is expelled: the membrane no longer lists it.
  members = ['a', 'b']
  a.setRoster(['b'], (id) => members.includes(id))
  a.forget(['q'])
  assert.equal([...a.store.values()].some((r) => r.writer === 'q'), false)
  assert.deepEqual(a.drainEvents().filter((e) => e.type === 'cell-removed'), [{ type: 'cell-removed', peer: 'q', name: 'q' }])
  // b has not heard yet and pushes q's records again: refused, not relayed.
  const out = a.receive('b', { t: 'push', recs }, 2)
  assert.equal([...a.store.values()].some((r) => r.writer === 'q'), false)
  assert.equal(relayed(out, cellKey('q')), false)
  assert.equal(a.stats.verdicts['not-member'], 2)
})
