// Anti-entropy digests: what two stores must send and ask for, and digest checks on wire input.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { digest, diff, asDigest, merge, signRecord, cellKey, placementKey, fakeSignatureSigner, fakeSignatureVerify, take, type Store } from '../../src/state/index.ts'

const verify = fakeSignatureVerify()
const s = (id: string) => fakeSignatureSigner(id)
const cell = { kind: 'cell' as const, name: 'x', addrs: { peer: [] }, load: { rps: 0, cpu: 0, memory: 0 }, functions: [], software: '1', genome: 'g', incarnation: 0 }
const put = (st: Store, r: unknown): Store => merge(st, r, verify).store

test('diff sends what the remote lacks or has older, and asks for what it has newer', () => {
  let a: Store = new Map()
  let b: Store = new Map()
  a = put(a, signRecord(s('x'), cellKey('x'), 2, cell))
  b = put(b, signRecord(s('x'), cellKey('x'), 1, cell))
  a = put(a, signRecord(s('y'), cellKey('y'), 1, cell))
  b = put(b, signRecord(s('z'), placementKey('wiki'), 1, { kind: 'placement', fn: 'wiki', owner: 'z', epoch: 3, state: 'serving' }))
  assert.deepEqual(diff(a, digest(b)), { send: ['cell/x', 'cell/y'], want: ['placement/wiki'] })
  assert.deepEqual(diff(b, digest(a)), { send: ['placement/wiki'], want: ['cell/x', 'cell/y'] })
  assert.deepEqual(diff(a, digest(a)), { send: [], want: [] })
})

test('asDigest rejects anything that is not key -> [epoch, tie, version]', () => {
  assert.ok(asDigest({ 'cell/x': [0, 0, 1] }))
  for (const bad of [null, [], { k: [1, 2] }, { k: [0, 0, -1] }, { k: 'v' }]) assert.equal(asDigest(bad), undefined)
})

test('token bucket: a burst passes, then the rate; tokens refill with time', () => {
  const opts = { ratePerSec: 10, burst: 3 }
  let b = take(undefined, 0, opts)
  const ok = [b.ok]
  for (let i = 0; i < 4; i++) { b = take(b.bucket, 0, opts); ok.push(b.ok) }
  assert.deepEqual(ok, [true, true, true, false, false])
  assert.equal(take(b.bucket, 100, opts).ok, true, '100 ms at 10/s refills one token')
})
