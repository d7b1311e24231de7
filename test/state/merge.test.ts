// Records and the pure merge: each rejection case, placement epochs, partition tie-break, clock skew, ed25519.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  merge, signRecord, cellKey, placementKey, tieRank, canonical, ed25519KeyPair, ed25519Signer, ed25519Verify,
  fakeSignatureSigner, fakeSignatureVerify, type CellBody, type PlacementBody, type Store
} from '../../src/state/index.ts'

const verify = fakeSignatureVerify()
const a = fakeSignatureSigner('cell-a')
const b = fakeSignatureSigner('cell-b')
const cell = (over: Partial<CellBody> = {}): CellBody => ({
  kind: 'cell', name: 'a', addrs: { peer: ['/ip4/10.0.0.1/tcp/1'], router: '10.0.0.1:80' }, load: { rps: 1, cpu: 0.1, memory: 1e6 },
  functions: ['wiki'], software: '0.1.0', genome: 'abc', incarnation: 0, ...over
})
const place = (owner: string, epoch: number, over: Partial<PlacementBody> = {}): PlacementBody =>
  ({ kind: 'placement', fn: 'wiki', owner, epoch, state: 'serving', ...over })
const empty: Store = new Map()

test('canonical JSON sorts keys and drops undefined, so signatures do not depend on field order', () => {
  assert.equal(canonical({ b: 1, a: [true, null, 'x'], c: undefined }), '{"a":[true,null,"x"],"b":1}')
})

test('a cell record applies, and a higher version replaces it', () => {
  const r1 = signRecord(a, cellKey('cell-a'), 1, cell())
  const r2 = signRecord(a, cellKey('cell-a'), 2, cell({ load: { rps: 9, cpu: 0, memory: 0 } }))
  const s1 = merge(empty, r1, verify)
  assert.equal(s1.verdict, 'applied')
  const s2 = merge(s1.store, r2, verify)
  assert.equal(s2.verdict, 'applied')
  assert.equal(s2.store.get(cellKey('cell-a'))?.version, 2)
  assert.equal(empty.size, 0, 'merge does not touch its input')
})

test('a replayed record (same version) is a duplicate, an older one is stale; neither changes the store', () => {
  const r1 = signRecord(a, cellKey('cell-a'), 1, cell())
  const r2 = signRecord(a, cellKey('cell-a'), 2, cell())
  const s = merge(merge(empty, r1, verify).store, r2, verify).store
  assert.equal(merge(s, r2, verify).verdict, 'duplicate')
  const old = merge(s, r1, verify)
  assert.equal(old.verdict, 'stale')
  assert.equal(old.store, s)
})

test('a forged record (body changed after signing, or signed by another key) is rejected', () => {
  const r = signRecord(a, cellKey('cell-a'), 1, cell())
  assert.equal(merge(empty, { ...r, body: { ...r.body, functions: ['evil'] } }, verify).verdict, 'forged')
  const byB = signRecord(b, cellKey('cell-a'), 1, cell())
  assert.equal(merge(empty, { ...byB, writer: 'cell-a' }, verify).verdict, 'forged')
  // A forged record with a higher version must not displace the real one.
  const s = merge(empty, r, verify).store
  assert.equal(merge(s, { ...r, version: 99 }, verify).verdict, 'forged')
})

test('a record written by the wrong cell is rejected', () => {
  // b writes a's cell record (validly signed by b).
  assert.equal(merge(empty, signRecord(b, cellKey('cell-a'), 1, cell()), verify).verdict, 'wrong-writer')
  // b signs a placement naming a as owner.
  assert.equal(merge(empty, signRecord(b, placementKey('wiki'), 1, place('cell-a', 1)), verify).verdict, 'wrong-writer')
})

test('malformed and oversized records are rejected without throwing', () => {
  for (const bad of [null, 42, 'x', [], {}, { key: 'cell/a', writer: 'a', version: -1, body: {}, sig: 's' },
    { ...signRecord(a, cellKey('cell-a'), 1, cell()), version: 1.5 },
    { ...signRecord(a, cellKey('cell-a'), 1, cell()), body: { ...cell(), kind: 'other' } }]) {
    assert.equal(merge(empty, bad, verify).verdict, 'malformed', JSON.stringify(bad))
  }
  const big = signRecord(a, cellKey('cell-a'), 1, cell({ functions: Array.from({ length: 200 }, (_, i) => `fn-${i}-${'x'.repeat(100)}`) }))
  assert.equal(merge(empty, big, verify).verdict, 'too-large')
  assert.equal(merge(empty, big, verify, { maxRecordBytes: 1 << 20 }).verdict, 'applied')
})

test('placements: the higher epoch wins whoever wrote it; a lower epoch is stale', () => {
  const e1 = signRecord(a, placementKey('wiki'), 5, place('cell-a', 1))
  const e2 = signRecord(b, placementKey('wiki'), 1, place('cell-b', 2))
  const s1 = merge(empty, e1, verify).store
  const s2 = merge(s1, e2, verify)
  assert.equal(s2.verdict, 'applied')
  assert.equal(s2.displaced, 'cell-a', 'the old owner is told it lost the function')
  // a's later version at the old epoch (it has not heard yet) does not win back.
  assert.equal(merge(s2.store, signRecord(a, placementKey('wiki'), 9, place('cell-a', 1, { state: 'moving' })), verify).verdict, 'stale')
})

test('placements: same epoch, same owner: higher version wins (serving -> moving)', () => {
  const s = merge(empty, signRecord(a, placementKey('wiki'), 1, place('cell-a', 3)), verify).store
  const m = merge(s, signRecord(a, placementKey('wiki'), 2, place('cell-a', 3, { state: 'moving', to: 'cell-b' })), verify)
  assert.equal(m.verdict, 'applied')
  assert.equal((m.store.get(placementKey('wiki'))?.body as PlacementBody).state, 'moving')
})

test('partition: two owners at the same epoch converge on one winner in either order, and the loser learns it', () => {
  const ra = signRecord(a, placementKey('wiki'), 1, place('cell-a', 4))
  const rb = signRecord(b, placementKey('wiki'), 1, place('cell-b', 4))
  const winner = tieRank('wiki', 'cell-a') > tieRank('wiki', 'cell-b') ? 'cell-a' : 'cell-b'
  const ab = merge(merge(empty, ra, verify).store, rb, verify)
  const ba = merge(merge(empty, rb, verify).store, ra, verify)
  const ownerOf = (s: Store): string => (s.get(placementKey('wiki'))?.body as PlacementBody).owner
  assert.equal(ownerOf(ab.store), winner)
  assert.equal(ownerOf(ba.store), winner)
  const loserSide = winner === 'cell-a' ? ba : ab
  assert.equal(loserSide.verdict, 'applied')
  assert.equal(loserSide.displaced, winner === 'cell-a' ? 'cell-b' : 'cell-a')
})

test('clock skew of minutes does not change the order: timestamps are display only', () => {
  const later = signRecord(a, cellKey('cell-a'), 2, cell({ at: Date.UTC(2024, 0, 1, 0, 0) }))
  const earlier = signRecord(a, cellKey('cell-a'), 1, cell({ at: Date.UTC(2024, 0, 1, 0, 10) }))
  const s = merge(merge(empty, later, verify).store, earlier, verify)
  assert.equal(s.verdict, 'stale')
  assert.equal(s.store.get(cellKey('cell-a'))?.version, 2)
})

test('ed25519: a real signature verifies, a tampered one or an unknown writer does not', () => {
  const kp = ed25519KeyPair()
  const signer = ed25519Signer('peer-1', kp.seed)
  const v = ed25519Verify((w) => w === 'peer-1' ? kp.publicKey : undefined)
  const r = signRecord(signer, cellKey('peer-1'), 1, cell())
  assert.equal(merge(empty, r, v).verdict, 'applied')
  assert.equal(merge(empty, { ...r, version: 2 }, v).verdict, 'forged')
  const other = ed25519Signer('peer-2', ed25519KeyPair().seed)
  assert.equal(merge(empty, signRecord(other, cellKey('peer-2'), 1, cell()), v).verdict, 'forged')
})
