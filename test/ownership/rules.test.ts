// The transitions and the serving rule on their own (pure).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { transition, mayServe } from '../../src/ownership/index.ts'
import type { Ownership } from '../../src/ownership/index.ts'

const rec = (owner: string, epoch: number, state: Ownership['state'] = 'serving', to?: string): Ownership => ({ fn: 'forum', owner, epoch, state, ...to != null ? { to } : {} })
// Rules only: the change number each transition adds (seq + 1) is checked once, below.
const real = transition
const transitionOf = (fn: string, cur: Ownership | null, t: Parameters<typeof real>[2]): ReturnType<typeof real> => { const v = real(fn, cur, t); if (!v.ok) return v; const { seq: _s, ...next } = v.next; return { ok: true, next } }

test('each transition names the epoch it saw; only the one it names can change', () => {
  assert.equal(transitionOf('forum', rec('A', 3), { kind: 'handoff', by: 'A', epoch: 2, to: 'B' }).ok, false)
  assert.equal(transitionOf('forum', rec('A', 3), { kind: 'handoff', by: 'A', epoch: 3, to: 'B' }).ok, true)
  assert.equal(transitionOf('forum', rec('A', 3, 'moving', 'B'), { kind: 'handoff', by: 'A', epoch: 3, to: 'C' }).ok, false, 'one hand-off at a time')
  const back = transitionOf('forum', rec('A', 3, 'moving', 'B'), { kind: 'abort', by: 'A', epoch: 3 })
  assert.deepEqual(back.ok && back.next, rec('A', 3))
})

test('a takeover takes the next epoch, also from a moving owner; never from a live one, never to itself when serving', () => {
  const t = transitionOf('forum', rec('A', 3, 'moving', 'B'), { kind: 'takeover', by: 'B', epoch: 3, ownerAlive: false, force: true })
  assert.deepEqual(t.ok && t.next, { ...rec('B', 4), forced: true }, 'a forced takeover says so in the record')
  assert.equal(transitionOf('forum', rec('A', 3), { kind: 'takeover', by: 'B', epoch: 3, ownerAlive: true }).ok, false)
  assert.equal(transitionOf('forum', rec('B', 3), { kind: 'takeover', by: 'B', epoch: 3, ownerAlive: false }).ok, false)
})

test('only the named replica takes over without force; the owner alone names it, and the epoch stays', () => {
  const named = transitionOf('forum', rec('A', 3), { kind: 'replica', by: 'A', epoch: 3, replica: 'B' })
  assert.deepEqual(named.ok && named.next, { ...rec('A', 3), replica: 'B' })
  const r = { ...rec('A', 3), replica: 'B' }
  const byOther = transitionOf('forum', r, { kind: 'replica', by: 'M', epoch: 3, replica: 'M' })
  assert.equal(!byOther.ok && byOther.why, 'not-owner', 'a member cannot name itself the replica')
  assert.equal(transitionOf('forum', r, { kind: 'replica', by: 'A', epoch: 3, replica: 'A' }).ok, false, 'never the owner itself')
  const notReplica = transitionOf('forum', r, { kind: 'takeover', by: 'C', epoch: 3, ownerAlive: false })
  assert.equal(!notReplica.ok && notReplica.why, 'not-replica')
  const none = transitionOf('forum', rec('A', 3), { kind: 'takeover', by: 'C', epoch: 3, ownerAlive: false })
  assert.equal(!none.ok && none.why, 'not-replica', 'without a replica nobody takes the data-less function by itself')
  const taken = transitionOf('forum', r, { kind: 'takeover', by: 'B', epoch: 3, ownerAlive: false })
  assert.deepEqual(taken.ok && taken.next, rec('B', 4), 'the new owner has no replica until it names one')
  const moving = transitionOf('forum', r, { kind: 'handoff', by: 'A', epoch: 3, to: 'C' })
  assert.equal(moving.ok && moving.next.replica, 'B', 'a hand-off keeps the replica until it completes')
  const cleared = transitionOf('forum', r, { kind: 'replica', by: 'A', epoch: 3, replica: null })
  assert.deepEqual(cleared.ok && cleared.next, rec('A', 3))
})

test('every change is numbered: seq grows by one on each, whatever changed', () => {
  const found = transition('forum', null, { kind: 'found', by: 'A' })
  assert.equal(found.ok && found.next.seq, 1)
  const moving = transition('forum', { ...rec('A', 1), seq: 1 }, { kind: 'handoff', by: 'A', epoch: 1, to: 'B' })
  assert.equal(moving.ok && moving.next.seq, 2)
})

test('a transition naming no cell is a bad request', () => {
  const v = transitionOf('forum', null, { kind: 'found', by: '' })
  assert.equal(!v.ok && v.why, 'bad-request')
})

test('a lease holder serves writes only until a margin before the store could expire its lease', () => {
  assert.equal(mayServe(null, 3000, 0), false, 'never renewed')
  assert.equal(mayServe(1000, 3000, 3000), true)
  assert.equal(mayServe(1000, 3000, 3250), false, 'within the last 750 ms (a quarter of the TTL) it stops')
  assert.equal(mayServe(1000, 8000, 7999), true)
  assert.equal(mayServe(1000, 8000, 8000), false, 'the margin is at most 1 s')
})

test('the etcd binary: ORGANISM_ETCD when set, and a missing one is a clear error naming it', async () => {
  const { findEtcd } = await import('../../src/ownership/index.ts')
  const { isOrganismError } = await import('../../src/core/errors.ts')
  await assert.rejects(findEtcd({ ORGANISM_ETCD: '/nonexistent/etcd' }), (err: unknown) => isOrganismError(err, 'OWNERSHIP_NO_ETCD') && /\/nonexistent\/etcd/.test(err.message) && /etcd-server/.test(err.hint))
  assert.equal(await findEtcd({ ORGANISM_ETCD: '/usr/bin/etcd' }), '/usr/bin/etcd')
})
