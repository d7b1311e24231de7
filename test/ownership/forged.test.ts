// A member that holds a store certificate writes ownership records around the rules, straight into etcd: every
// cell's view refuses them (signed by the owner they name, a legal step from the record before), the record before
// is written back, and honest changes go on. Real etcd, real ed25519 keys.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Etcd3 } from 'etcd3'
import { openEtcdStore, createStoreView, signRecord, refuseStep } from '../../src/ownership/index.ts'
import type { Ownership, StoreView, ViewProofs } from '../../src/ownership/index.ts'
import { ed25519KeyPair, ed25519Signer, ed25519Verify } from '../../src/state/index.ts'
import { realClock } from '../../src/core/clock.ts'
import { oneEtcd } from './helpers.ts'
import { waitFor } from '../helpers/cell-process.ts'

const dir = await mkdtemp(join(tmpdir(), 'organism-forged-'))
const { etcd, endpoint } = await oneEtcd(dir)
after(async () => { await etcd.stop(); await rm(dir, { recursive: true, force: true }) })

const keys = new Map<string, Uint8Array>()
const cell = (name: string): { id: string, signer: ReturnType<typeof ed25519Signer> } => {
  const k = ed25519KeyPair()
  keys.set(name, k.publicKey)
  return { id: name, signer: ed25519Signer(name, k.seed) }
}
const verify = ed25519Verify((id) => keys.get(id))

async function viewOf (c: { id: string, signer: ReturnType<typeof ed25519Signer> }, organism: string, rejected: string[]): Promise<StoreView> {
  const proofs: ViewProofs = { signer: c.signer, verify, stateless: new Set(), checkOverride: async () => false, onRejected: (r, why, restored) => { rejected.push(`${c.id}: ${r.owner}@${r.epoch}: ${why}${restored ? ' (restored)' : ''}`) } }
  const v = createStoreView({ self: c.id, clock: realClock, proofs, relistMs: 200 })
  await v.attach(await openEtcdStore({ endpoints: [endpoint], organism }))
  return v
}

const until = async (what: string, check: () => boolean): Promise<void> => { await waitFor(what, async () => check(), { tries: 100, everyMs: 50 }) }

test('records written around the rules are refused by every view, written back, and honest changes go on', async (t) => {
  const [a, b, m] = [cell('A'), cell('B'), cell('M')]
  const rejected: string[] = []
  const va = await viewOf(a, 'forged', rejected)
  const vb = await viewOf(b, 'forged', rejected)
  t.after(async () => { await va.close(); await vb.close() })
  await va.apply('forum', { kind: 'found', by: 'A' })
  await until('B sees A own forum', () => vb.records().find((r) => r.fn === 'forum')?.owner === 'A')
  const good = va.records().find((r) => r.fn === 'forum') as Ownership
  assert.equal(good.proof?.by, 'A', 'A signed the record it made')

  // M, with a certificate, writes straight into etcd: itself at epoch + 1 (signed by itself), at 2^53 − 1, and
  // a record naming A that M signed.
  const client = new Etcd3({ hosts: [endpoint] })
  const raw = client.namespace('/organism/forged/')
  t.after(() => { client.close() })
  const asA = (o: Ownership): Ownership => ({ ...o, proof: { by: 'A', sig: signRecord(o, m.signer).proof?.sig ?? '' } })
  const forgeries: Ownership[] = [
    signRecord({ fn: 'forum', owner: 'M', epoch: 2, seq: 2, state: 'serving' }, m.signer),
    signRecord({ fn: 'forum', owner: 'M', epoch: 2 ** 53 - 1, seq: 2, state: 'serving' }, m.signer),
    asA({ fn: 'forum', owner: 'A', epoch: 1, seq: 2, state: 'moving', to: 'M' }),
    // A forced takeover claimed without an operator's override, and one with an override that does not verify.
    signRecord({ fn: 'forum', owner: 'M', epoch: 2, seq: 2, state: 'serving', forced: true }, m.signer),
    signRecord({ fn: 'forum', owner: 'M', epoch: 2, seq: 2, state: 'serving', forced: true, override: { payload: '{}', signature: 'made up' } }, m.signer)
  ]
  for (const f of forgeries) {
    const before = rejected.length
    await raw.put('fn/forum').value(JSON.stringify(f))
    await until(`the forgery ${f.owner}@${f.epoch} is refused by both views`, () => rejected.length >= before + 2)
    for (const v of [va, vb]) assert.deepEqual(v.records().find((r) => r.fn === 'forum'), good, 'every view still believes A')
    assert.deepEqual(JSON.parse(await raw.get('fn/forum').string() ?? 'null'), good, 'the record before the forgery is back in etcd')
  }
  const said = rejected.join('\n')
  assert.match(said, /M@2: M takes epoch 2 without a hand-off to it, without holding the replica/)
  assert.match(said, /M@9007199254740991: it jumps from epoch 1/)
  assert.match(said, /A@1: its signature is not A's/)
  assert.match(said, /M@2: its operator override does not verify/)

  // Honest changes go on: A hands forum to B, B completes; both views agree, every record signed by its owner.
  await va.apply('forum', { kind: 'handoff', by: 'A', epoch: 1, to: 'B' })
  await vb.apply('forum', { kind: 'complete', by: 'B', from: 'A', epoch: 1 })
  await until('A sees B own forum at epoch 2', () => va.records().find((r) => r.fn === 'forum')?.owner === 'B')
  const byB = vb.records().find((r) => r.fn === 'forum') as Ownership
  assert.equal(byB.proof?.by, 'B')

  // A record many changes ahead, with no history in the store to check it by: not believed (it cannot be told
  // from a forgery), not written over either (it cannot be told from a history someone deleted), and said.
  await raw.put('fn/forum').value(JSON.stringify(signRecord({ fn: 'forum', owner: 'M', epoch: 5, seq: 40, state: 'serving' }, m.signer)))
  await until('the record from nowhere is refused', () => rejected.some((x) => x.includes('M@5')))
  assert.match(rejected.join('\n'), /M@5: the store does not hold the 37 changes that lead to it/)
  for (const v of [va, vb]) assert.deepEqual(v.records().find((r) => r.fn === 'forum'), byB, 'every view still believes B')
})

test('a view that missed changes checks each one the store kept, and believes the owner they lead to', async (t) => {
  const [a, b, c] = [cell('A2'), cell('B2'), cell('C2')]
  const rejected: string[] = []
  const va = await viewOf(a, 'missed', rejected)
  const vb = await viewOf(b, 'missed', rejected)
  // C's store never tells it of a change (a watch that broke): only its re-reads of everything do.
  const proofs: ViewProofs = { signer: c.signer, verify, stateless: new Set(), checkOverride: async () => false, onRejected: (r, why) => { rejected.push(`C2: ${r.owner}@${r.epoch}: ${why}`) } }
  const vc = createStoreView({ self: c.id, clock: realClock, proofs, relistMs: 60_000 })
  const deaf = await openEtcdStore({ endpoints: [endpoint], organism: 'missed' })
  t.after(async () => { await va.close(); await vb.close(); await vc.close() })
  await va.apply('forum', { kind: 'found', by: 'A2' })
  await vc.attach({ ...deaf, watch: async () => () => {} })
  assert.equal(vc.records().find((r) => r.fn === 'forum')?.owner, 'A2')
  await until('B2 sees the record', () => vb.records().some((r) => r.fn === 'forum'))
  await va.apply('forum', { kind: 'handoff', by: 'A2', epoch: 1, to: 'B2' })
  await vb.apply('forum', { kind: 'complete', by: 'B2', from: 'A2', epoch: 1 })
  await vb.apply('forum', { kind: 'replica', by: 'B2', epoch: 2, replica: 'A2' })
  // Three changes later, C's read: each step checked from the store's history, none refused.
  assert.equal((await vc.read('forum'))?.owner, 'B2')
  assert.equal((await vc.apply('forum', { kind: 'takeover', by: 'C2', epoch: 2 }).catch((err: Error) => err.message)), 'forum\'s owner B2 still holds its lease', 'C builds on the record it checked (the store refuses on the rules)')
  assert.deepEqual(rejected, [])
})

test('a forced takeover is believed without an operator override only for a function that keeps no data', () => {
  const prev: Ownership = { fn: 'cache', owner: 'A', epoch: 3, seq: 5, state: 'serving', replica: 'B' }
  const c = cell('C3')
  const forced = signRecord({ fn: 'cache', owner: 'C3', epoch: 4, seq: 6, state: 'serving', forced: true }, c.signer)
  assert.equal(refuseStep(prev, forced, verify, true), null, 'stateless: any live cell may take it once its owner is gone')
  assert.match(refuseStep(prev, forced, verify, false) ?? '', /without an operator's override/)
  assert.match(refuseStep(prev, { ...forced, epoch: 3 }, verify, true) ?? '', /signature is not C3's/, 'the signature covers the epoch')
})

test('a cell that believed nothing yet checks the chain that leads to a record: honest changes pass, a member\'s own record does not', async (t) => {
  const [a, b, m, n] = [cell('A3'), cell('B3'), cell('M3'), cell('N3')]
  const rejected: string[] = []
  const va = await viewOf(a, 'fresh', rejected)
  const vb = await viewOf(b, 'fresh', rejected)
  t.after(async () => { await va.close(); await vb.close() })
  await va.apply('forum', { kind: 'found', by: 'A3' })
  await until('B3 sees the record', () => vb.records().some((r) => r.fn === 'forum'))
  await va.apply('forum', { kind: 'handoff', by: 'A3', epoch: 1, to: 'B3' })
  await vb.apply('forum', { kind: 'complete', by: 'B3', from: 'A3', epoch: 1 })
  const honest = vb.records().find((r) => r.fn === 'forum') as Ownership
  // A cell that starts now believes the owner three honest changes led to.
  const fresh1 = await viewOf(n, 'fresh', rejected)
  t.after(async () => { await fresh1.close() })
  assert.deepEqual(fresh1.records().find((r) => r.fn === 'forum'), honest)

  // M writes itself in straight into etcd while A3 and B3 are away (nobody undoes it): first the record alone,
  // then with a history entry for it. A cell that starts believes neither.
  await va.close(); await vb.close(); await fresh1.close()
  const client = new Etcd3({ hosts: [endpoint] })
  const raw = client.namespace('/organism/fresh/')
  t.after(() => { client.close() })
  const forged = signRecord({ fn: 'forum', owner: 'M3', epoch: 3, seq: (honest.seq ?? 0) + 1, state: 'serving' }, m.signer)
  await raw.put('fn/forum').value(JSON.stringify(forged))
  const fresh2 = await viewOf(cell('P3'), 'fresh', rejected)
  t.after(async () => { await fresh2.close() })
  assert.equal(fresh2.records().find((r) => r.fn === 'forum'), undefined, 'a record without the changes that lead to it is not believed')
  assert.match(rejected.join('\n'), /P3: M3@3: the store does not hold the changes that lead to it/)
  await raw.put(`hist/forum/${String(forged.seq).padStart(16, '0')}`).value(JSON.stringify(forged))
  const fresh3 = await viewOf(cell('Q3'), 'fresh', rejected)
  t.after(async () => { await fresh3.close() })
  assert.deepEqual(fresh3.records().find((r) => r.fn === 'forum'), honest, 'the last honest change is believed')
  assert.match(rejected.join('\n'), /Q3: M3@3: change \d+ on the way to it: M3 takes epoch 3 without a hand-off/)
  assert.deepEqual(JSON.parse(await raw.get('fn/forum').string() ?? 'null'), honest, 'and written back over the forgery')
})

test('a record deleted straight from etcd is written back as it was, and the owner goes on', async (t) => {
  const [a, b] = [cell('A4'), cell('B4')]
  const rejected: string[] = []
  const deleted: string[] = []
  const withDeletes = async (c: typeof a): Promise<StoreView> => {
    const proofs: ViewProofs = { signer: c.signer, verify, stateless: new Set(), checkOverride: async () => false, onRejected: (r, why) => { rejected.push(`${c.id}: ${why}`) }, onDeleted: (r, restored) => { deleted.push(`${c.id}: ${r.fn}@${r.epoch}${restored ? ' restored' : ''}`) } }
    const v = createStoreView({ self: c.id, clock: realClock, proofs, relistMs: 200 })
    await v.attach(await openEtcdStore({ endpoints: [endpoint], organism: 'deleted' }))
    return v
  }
  const va = await withDeletes(a)
  const vb = await withDeletes(b)
  t.after(async () => { await va.close(); await vb.close() })
  await va.apply('forum', { kind: 'found', by: 'A4' })
  await until('B4 sees A4 own forum', () => vb.records().find((r) => r.fn === 'forum')?.owner === 'A4')
  const good = va.records().find((r) => r.fn === 'forum') as Ownership
  const client = new Etcd3({ hosts: [endpoint] })
  t.after(() => { client.close() })
  const raw = client.namespace('/organism/deleted/')
  await raw.delete().key('fn/forum')
  await until('a view notices and writes it back', () => deleted.some((d) => d.endsWith('restored')))
  assert.deepEqual(JSON.parse(await raw.get('fn/forum').string() ?? 'null'), good)
  assert.ok(deleted.filter((d) => d.endsWith('restored')).length === 1, `one view restored it, the other found it back: ${deleted.join('; ')}`)
  // The owner goes on from there: a hand-off to B4 is a legal next step on the record written back.
  await va.apply('forum', { kind: 'handoff', by: 'A4', epoch: 1, to: 'B4' })
  await vb.apply('forum', { kind: 'complete', by: 'B4', from: 'A4', epoch: 1 })
  await until('both see B4 own forum', () => [va, vb].every((v) => v.records().find((r) => r.fn === 'forum')?.owner === 'B4'))
  assert.deepEqual(rejected, [])
})
