// Replication between cells: what a write's answer waits for is on the replica, byte for byte; the store names the
// replica only once it holds everything; a dead owner's replica takes over with the data; bad senders are refused.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync, existsSync, truncateSync, rmSync, openSync, writeSync, closeSync, utimesSync } from 'node:fs'
import { join } from 'node:path'
import { rig, until, forum } from './helpers.ts'
import type { AddOptions, Rig, TestCell } from './helpers.ts'
import type { TestContext } from 'node:test'

const file = (c: TestCell, p: string): string => join(c.ports.dataDir('forum'), p)
const write = (c: TestCell, p: string, data: string | Buffer): void => { mkdirSync(join(file(c, p), '..'), { recursive: true }); writeFileSync(file(c, p), data) }
const commit = async (c: TestCell): Promise<void> => { await c.replication.commit('forum') }
/** A batch is acknowledged once durable and written into the files right after, under fn's lock: a look waits for it. */
const drained = async (c: TestCell): Promise<void> => { await c.replication.settled('forum') }
/** a owns forum (founded in the store), b is there to hold its copy. */
async function ownerAndReplica (t: TestContext, a: AddOptions = {}, b: AddOptions = {}): Promise<{ r: Rig, a: TestCell, b: TestCell }> {
  const r = await rig(t)
  const ca = await r.add('a', a)
  const cb = await r.add('b', b)
  await r.store.apply('forum', { kind: 'found', by: 'a' })
  await r.refresh()
  return { r, a: ca, b: cb }
}
const onReplica = async (c: TestCell, p: string): Promise<Buffer> => { await drained(c); return readFileSync(file(c, p)) }

test('a committed write is on the replica, and the store names the replica only once it holds it', async (t) => {
  const r = await rig(t)
  const a = await r.add('a')
  await r.store.apply('forum', { kind: 'found', by: 'a' })
  await r.refresh()
  write(a, 'posts.json', '[1]')
  const b = await r.add('b')
  await commit(a)
  assert.equal(r.records.get('forum')?.replica, 'b')
  assert.equal((await onReplica(b, 'posts.json')).toString('utf8'), '[1]')

  // New files in folders, a large file changed in one block in place, a truncation, a deletion.
  const big = Buffer.alloc(300 * 1024, 7)
  write(a, 'db/big.bin', big)
  write(a, 'gone.txt', 'x')
  await commit(a)
  big[200 * 1024] = 9
  const fd = openSync(file(a, 'db/big.bin'), 'r+'); writeSync(fd, big, 200 * 1024, 1, 200 * 1024); closeSync(fd)
  rmSync(file(a, 'gone.txt'))
  write(a, 'posts.json', '[1,2]')
  await commit(a)
  assert.deepEqual((await onReplica(b, 'db/big.bin')), big)
  assert.equal((await drained(b), existsSync(file(b, 'gone.txt'))), false)
  assert.equal((await onReplica(b, 'posts.json')).toString('utf8'), '[1,2]')
  truncateSync(file(a, 'db/big.bin'), 1000)
  await commit(a)
  assert.deepEqual((await onReplica(b, 'db/big.bin')), big.subarray(0, 1000))
})

test('a rewrite of the same size within one timestamp tick still reaches the replica', async (t) => {
  const { a, b } = await ownerAndReplica(t)
  // In place, same length, and the same mtime (as when both land in one kernel tick: here set by hand, to a time no
  // scan can have passed, so that the test does not depend on this machine's speed): only the content differs.
  const tick = new Date(Date.now() + 60_000)
  write(a, 'counter', '0')
  utimesSync(file(a, 'counter'), tick, tick)
  await commit(a)
  for (let i = 1; i < 5; i++) {
    const fd = openSync(file(a, 'counter'), 'r+')
    writeSync(fd, String(i), 0)
    closeSync(fd)
    utimesSync(file(a, 'counter'), tick, tick)
    await commit(a)
    assert.equal((await onReplica(b, 'counter')).toString('utf8'), String(i), `write ${i}`)
  }
})

test('the replica takes over a dead owner with every committed write, and the owner back becomes its replica', async (t) => {
  const { r, a, b } = await ownerAndReplica(t)
  for (let i = 0; i < 30; i++) { write(a, `post-${i}`, `post ${i}`); await commit(a) }
  await r.kill('a')
  await until('b owns forum', () => r.records.get('forum')?.owner === 'b')
  assert.equal(r.records.get('forum')?.epoch, 2)
  for (let i = 0; i < 30; i++) assert.equal((await onReplica(b, `post-${i}`)).toString('utf8'), `post ${i}`)

  // b is now alone: a write is kept here, and the store names no replica that lacks it.
  write(b, 'post-b', 'written while alone')
  await commit(b)
  assert.equal(r.records.get('forum')?.replica, undefined)
  assert.equal(b.replication.status('forum')?.state, 'alone')
  // a comes back (a new process on the same disk): it is filled and named.
  const a2 = await r.add('a')
  await until('a is the replica again', () => r.records.get('forum')?.replica === 'a')
  assert.equal((await onReplica(a2, 'post-b')).toString('utf8'), 'written while alone')
})

test('a non-owner cannot push data to a replica, nor can the owner write where the function runs', async (t) => {
  const r = await rig(t)
  const a = await r.add('a')
  const b = await r.add('b')
  const m = await r.add('mallory')
  await r.store.apply('forum', { kind: 'found', by: 'a' })
  await r.refresh()
  write(a, 'posts.json', 'real')
  await commit(a)
  assert.equal(r.records.get('forum')?.replica, 'b')
  // mallory pretends to own forum: same epoch, a replication stream to b.
  write(m, 'posts.json', 'forged')
  const { connect } = await import('../../src/replica/sender.ts')
  await assert.rejects(connect(m.ports, 'forum', 1, 'b'), /REPLICA_REFUSED|refused: .*does not name mallory/)
  assert.equal((await onReplica(b, 'posts.json')).toString('utf8'), 'real')

  // A cell running the function is never a replica of it.
  b.running.add('forum')
  await assert.rejects(connect(a.ports, 'forum', 1, 'b'), /runs on this cell/)
})

test('a path that leaves the data dir is refused and nothing is written', async (t) => {
  const { a, b } = await ownerAndReplica(t)
  const { connect } = await import('../../src/replica/sender.ts')
  const { encodeFrame } = await import('../../src/migrate/index.ts')
  const target = await connect(a.ports, 'forum', 1, 'b')
  target.stream.write(encodeFrame(22, Buffer.from(JSON.stringify({ path: '../../escape', size: 1, mode: 0o644 }))))
  target.stream.write(encodeFrame(23, Buffer.concat([Buffer.alloc(4), Buffer.from('x')])))
  target.stream.write(encodeFrame(25, Buffer.from(JSON.stringify({ seq: 1, epoch: 1 }))))
  const answer = await target.frames.next()
  assert.equal(answer.value?.type, 27)
  assert.match(answer.value?.payload.toString() ?? '', /REPLICA_BAD_PATH/)
  assert.equal(existsSync(join(b.ports.dataDir('forum'), '..', '..', 'escape')), false)
})

test('a write waits for a replica that does not answer and is refused in time, not acknowledged', async (t) => {
  const { a, b } = await ownerAndReplica(t, { waitMs: 600 })
  write(a, 'x', '1')
  await commit(a)
  // b runs forum now (as after a split brain it must not be written to): it refuses, and no other cell is there.
  b.running.add('forum')
  write(a, 'x', '2')
  await assert.rejects(commit(a), /REPLICA_UNAVAILABLE|did not confirm/)
  assert.equal((await onReplica(b, 'x')).toString('utf8'), '1')
  assert.ok(forum.durability === 'sync')
})

test('over the TLS side path the replica offers: the same bytes, and a refusal still reaches the owner at once', async (t) => {
  const { a, b } = await ownerAndReplica(t, { bulk: true, waitMs: 3000 }, { bulk: true })
  for (let i = 0; i < 10; i++) { write(a, `f${i}`, Buffer.alloc(100_000, i)); await commit(a) }
  for (let i = 0; i < 10; i++) assert.deepEqual(await onReplica(b, `f${i}`), Buffer.alloc(100_000, i))
  const { connect } = await import('../../src/replica/sender.ts')
  const { TLSSocket } = await import('node:tls')
  const probe = await connect(a.ports, 'forum', 1, 'b')
  assert.ok(probe.stream instanceof TLSSocket && probe.stream !== probe.member, 'batches go over TLS, not the member stream')
  probe.stream.destroy()
  b.running.add('forum')
  write(a, 'f0', 'changed')
  await assert.rejects(commit(a), /REPLICA_UNAVAILABLE|did not confirm/)
  assert.deepEqual(await onReplica(b, 'f0'), Buffer.alloc(100_000, 0), 'the refused batch was not written')
})

test('replicas named while one other cell existed spread out when another joins, with every committed write', async (t) => {
  const r = await rig(t)
  const fns = ['forum', 'wiki', 'chat'].map((name) => ({ name, stateful: true, replicas: 2 as const, durability: 'sync' as const }))
  const a = await r.add('a', { functions: fns })
  await r.add('b', { functions: fns })
  for (const f of fns) await r.store.apply(f.name, { kind: 'found', by: 'a' })
  await r.refresh()
  const put = async (fn: string, name: string, text: string): Promise<void> => {
    const p = join(a.ports.dataDir(fn), name)
    mkdirSync(join(p, '..'), { recursive: true })
    writeFileSync(p, text)
    await a.replication.commit(fn)
  }
  for (const f of fns) await put(f.name, 'x', `before ${f.name}`)
  assert.deepEqual(fns.map((f) => r.records.get(f.name)?.replica), ['b', 'b', 'b'])
  const c = await r.add('c', { functions: fns })
  await until('one replica moved to c', () => fns.some((f) => r.records.get(f.name)?.replica === 'c'))
  for (const f of fns) await put(f.name, 'y', `after ${f.name}`)
  const moved = fns.filter((f) => r.records.get(f.name)?.replica === 'c')
  assert.equal(moved.length, 1, 'b keeps two, c gets one: no flapping')
  for (const f of moved) {
    await c.replication.settled(f.name)
    assert.equal(readFileSync(join(c.ports.dataDir(f.name), 'x'), 'utf8'), `before ${f.name}`)
    assert.equal(readFileSync(join(c.ports.dataDir(f.name), 'y'), 'utf8'), `after ${f.name}`)
  }
})

test('a cell in its first seconds takes no function over (after a full restart, owners take their leases back)', async (t) => {
  const { r, a } = await ownerAndReplica(t, {}, { startGraceMs: 60_000 })
  write(a, 'post', 'one')
  await commit(a)
  await r.kill('a')
  await new Promise((resolve) => setTimeout(resolve, 4000)) // the rig's lease (3 s) is gone by now
  assert.equal(r.records.get('forum')?.owner, 'a', 'no takeover within the grace')
})
