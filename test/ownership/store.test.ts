// One suite, two stores (the local file of a cell alone, and real etcd): ownership changes only by the rules, one
// owner per epoch, and a member cannot take a function on its own say.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openLocalStore, openEtcdStore } from '../../src/ownership/index.ts'
import type { Ownership, OwnershipStore } from '../../src/ownership/index.ts'
import { isOrganismError } from '../../src/core/errors.ts'
import { oneEtcd } from './helpers.ts'

const dir = await mkdtemp(join(tmpdir(), 'organism-ownership-'))
const { etcd, endpoint } = await oneEtcd(dir)
after(async () => { await etcd.stop(); await rm(dir, { recursive: true, force: true }) })

let n = 0
/** A record's facts, without its change number (checked where it matters). */
const bare = (o: Ownership | null): Omit<Ownership, 'seq'> | null => { if (o == null) return null; const { seq: _s, ...rest } = o; return rest }
const stores: Record<string, () => Promise<OwnershipStore>> = {
  local: async () => await openLocalStore(join(dir, `local-${n++}.json`)),
  etcd: async () => await openEtcdStore({ endpoints: [endpoint], organism: `t${n++}` })
}

const refusal = async (p: Promise<unknown>): Promise<string> => {
  try { await p } catch (err) {
    if (isOrganismError(err, 'OWNERSHIP_REFUSED')) return (err.details as { why: string }).why
    throw err
  }
  return 'applied'
}

for (const [kind, open] of Object.entries(stores)) {
  test(`${kind}: found, hand-off, complete: epochs grow by one, each epoch has one owner`, async (t) => {
    const s = await open()
    t.after(async () => { await s.close() })
    assert.deepEqual(bare(await s.apply('forum', { kind: 'found', by: 'A' })), { fn: 'forum', owner: 'A', epoch: 1, state: 'serving' })
    assert.equal(await refusal(s.apply('forum', { kind: 'found', by: 'B' })), 'conflict', 'a second founder is refused')
    assert.equal((await s.apply('forum', { kind: 'handoff', by: 'A', epoch: 1, to: 'B' })).state, 'moving')
    assert.deepEqual(bare(await s.apply('forum', { kind: 'complete', by: 'B', from: 'A', epoch: 1 })), { fn: 'forum', owner: 'B', epoch: 2, state: 'serving' })
    assert.deepEqual(bare(await s.get('forum')), { fn: 'forum', owner: 'B', epoch: 2, state: 'serving' })
    assert.deepEqual((await s.list()).map((o) => o.fn), ['forum'])
    assert.equal((await s.get('forum'))?.seq, 3, 'found, hand-off, complete: three changes')
  })

  test(`${kind}: a member cannot take, push or jump: every such change is refused and the owner keeps the function`, async (t) => {
    const s = await open()
    t.after(async () => { await s.close() })
    await s.apply('wiki', { kind: 'found', by: 'A' })
    await s.lease('A', 3000)
    assert.equal(await refusal(s.apply('wiki', { kind: 'complete', by: 'M', from: 'A', epoch: 1 })), 'not-owner', 'epoch + 1 without a hand-off to it')
    assert.equal(await refusal(s.apply('wiki', { kind: 'handoff', by: 'M', epoch: 1, to: 'M' })), 'not-owner', 'a hand-off by a member that does not own it')
    assert.equal(await refusal(s.apply('wiki', { kind: 'handoff', by: 'A', epoch: 2 ** 53 - 1, to: 'B' })), 'conflict', 'an epoch out of thin air')
    assert.equal(await refusal(s.apply('wiki', { kind: 'takeover', by: 'M', epoch: 1 })), 'owner-alive', 'a takeover while the owner holds its lease')
    await s.apply('wiki', { kind: 'handoff', by: 'A', epoch: 1, to: 'B' })
    assert.equal(await refusal(s.apply('wiki', { kind: 'complete', by: 'M', from: 'A', epoch: 1 })), 'not-owner', 'a hand-off to B is not one to M')
    assert.deepEqual(bare(await s.get('wiki')), { fn: 'wiki', owner: 'A', epoch: 1, state: 'moving', to: 'B' })
  })

  test(`${kind}: a lost answer cannot split ownership: after the receiver completed, the owner's abort is refused`, async (t) => {
    const s = await open()
    t.after(async () => { await s.close() })
    await s.apply('grades', { kind: 'found', by: 'A' })
    await s.apply('grades', { kind: 'handoff', by: 'A', epoch: 1, to: 'B' })
    await s.apply('grades', { kind: 'complete', by: 'B', from: 'A', epoch: 1 })
    assert.equal(await refusal(s.apply('grades', { kind: 'abort', by: 'A', epoch: 1 })), 'conflict')
    assert.equal((await s.get('grades'))?.owner, 'B', 'the owner reads who won instead of guessing')
  })

  test(`${kind}: racing changes of one function: exactly one wins`, async (t) => {
    const s = await open()
    t.after(async () => { await s.close() })
    await s.apply('media', { kind: 'found', by: 'A' })
    await s.apply('media', { kind: 'handoff', by: 'A', epoch: 1, to: 'B' })
    const results = await Promise.all([
      refusal(s.apply('media', { kind: 'complete', by: 'B', from: 'A', epoch: 1 })),
      refusal(s.apply('media', { kind: 'abort', by: 'A', epoch: 1 }))
    ])
    assert.equal(results.filter((r) => r === 'applied').length, 1, `one of complete/abort: ${results.join(', ')}`)
  })

  test(`${kind}: a takeover needs the owner's lease gone, and takes the next epoch`, async (t) => {
    const s = await open()
    t.after(async () => { await s.close() })
    await s.apply('quiz', { kind: 'found', by: 'A' })
    const lease = await s.lease('A', 2000)
    assert.equal(lease.mayServe(Date.now()), true)
    assert.equal(await s.alive('A'), true)
    assert.equal(await refusal(s.apply('quiz', { kind: 'takeover', by: 'B', epoch: 1 })), 'owner-alive')
    await lease.release()
    assert.equal(lease.mayServe(Date.now()), false, 'a released lease serves nothing')
    assert.equal(await s.alive('A'), false)
    // Only the replica the owner named (it has the data) takes over by itself; anyone else only by force.
    await s.apply('quiz', { kind: 'replica', by: 'A', epoch: 1, replica: 'C' })
    assert.equal(await refusal(s.apply('quiz', { kind: 'takeover', by: 'B', epoch: 1 })), 'not-replica')
    assert.deepEqual(bare(await s.apply('quiz', { kind: 'takeover', by: 'C', epoch: 1 })), { fn: 'quiz', owner: 'C', epoch: 2, state: 'serving' })
  })

  test(`${kind}: watchers see each committed change`, async (t) => {
    const s = await open()
    t.after(async () => { await s.close() })
    const seen: string[] = []
    const off = await s.watch((o) => { seen.push(`${o.fn}:${o.owner}@${o.epoch}/${o.state}`) })
    t.after(off)
    await s.apply('chat', { kind: 'found', by: 'A' })
    await s.apply('chat', { kind: 'handoff', by: 'A', epoch: 1, to: 'B' })
    const deadline = Date.now() + 5000
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    assert.deepEqual(seen, ['chat:A@1/serving', 'chat:A@1/moving'])
  })
}

test('local: an acknowledged change survives a restart of the process (the file is written before the answer)', async () => {
  const file = join(dir, 'restart.json')
  const a = await openLocalStore(file)
  await a.apply('forum', { kind: 'found', by: 'A' })
  await a.apply('forum', { kind: 'handoff', by: 'A', epoch: 1, to: 'B' })
  await a.close()
  const b = await openLocalStore(file)
  assert.deepEqual(bare(await b.get('forum')), { fn: 'forum', owner: 'A', epoch: 1, state: 'moving', to: 'B' })
})

test('etcd: the lease of a cell that stops renewing expires, and only then can another cell take over', async () => {
  const s = await openEtcdStore({ endpoints: [endpoint], organism: 'expiry' })
  const owner = await openEtcdStore({ endpoints: [endpoint], organism: 'expiry' })
  await s.apply('forum', { kind: 'found', by: 'A' })
  await owner.lease('A', 2000)
  assert.equal(await refusal(s.apply('forum', { kind: 'takeover', by: 'B', epoch: 1 })), 'owner-alive')
  // The owner's process dies: its client goes away and nothing renews the lease.
  await owner.close()
  const deadline = Date.now() + 10_000
  while (await s.alive('A') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  assert.equal(await s.alive('A'), false, 'the lease expired within its TTL and etcd\'s check interval')
  assert.equal((await s.apply('forum', { kind: 'takeover', by: 'B', epoch: 1, force: true })).owner, 'B')
  await s.close()
})
