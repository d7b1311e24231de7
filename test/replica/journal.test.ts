// The replica's journal: a batch made durable before a crash is applied whole at the next use; one never made
// durable is dropped; a damaged one is set aside with a clear error, never half applied silently.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, rmSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeFrame } from '../../src/migrate/index.ts'
import { journalPath, openBatch, replayJournal, RFRAME } from '../../src/replica/journal.ts'

const frames = (...parts: Array<[number, Buffer]>): Buffer => Buffer.concat(parts.map(([t, p]) => encodeFrame(t, p)))
const fileFrame = (path: string, size: number): [number, Buffer] => [RFRAME.file, Buffer.from(JSON.stringify({ path, size, mode: 0o644 }))]
const block = (i: number, data: string): [number, Buffer] => { const b = Buffer.alloc(4); b.writeUInt32BE(i); return [RFRAME.block, Buffer.concat([b, Buffer.from(data)])] }

test('a durable journal left by a crash is applied whole; a batch never made durable is dropped', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'organism-journal-'))
  t.after(() => { rmSync(base, { recursive: true, force: true }) })
  const dir = join(base, 'data')
  mkdirSync(dir)
  writeFileSync(join(dir, 'a'), 'old a')
  writeFileSync(join(dir, 'b'), 'old b')
  writeFileSync(journalPath(dir), frames(fileFrame('a', 5), block(0, 'new a'), fileFrame('sub/c', 3), block(0, 'c!!'), [RFRAME.delete, Buffer.from(JSON.stringify({ path: 'b' }))]))
  writeFileSync(`${journalPath(dir)}.tmp-abc`, frames(fileFrame('a', 9), block(0, 'half done')))
  assert.equal(await replayJournal(dir), 8)
  assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'new a')
  assert.equal(readFileSync(join(dir, 'sub/c'), 'utf8'), 'c!!')
  assert.equal(existsSync(join(dir, 'b')), false)
  assert.deepEqual(readdirSync(base).sort(), ['data'])
})

test('a damaged journal is set aside with REPLICA_JOURNAL_INVALID', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'organism-journal-'))
  t.after(() => { rmSync(base, { recursive: true, force: true }) })
  const dir = join(base, 'data')
  writeFileSync(journalPath(dir), frames(fileFrame('a', 5)).subarray(0, 12))
  await assert.rejects(replayJournal(dir), { code: 'REPLICA_JOURNAL_INVALID' })
  assert.ok(existsSync(`${journalPath(dir)}.bad`))
  assert.equal(await replayJournal(dir), 0)
})

test('a batch refuses a path outside its directory before writing it to the journal', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'organism-journal-'))
  t.after(() => { rmSync(base, { recursive: true, force: true }) })
  const batch = await openBatch(join(base, 'data'))
  for (const path of ['../x', '/etc/passwd', 'a/../../x', '', './a']) {
    await assert.rejects(batch.add(RFRAME.file, Buffer.from(JSON.stringify({ path, size: 1 }))), { code: 'REPLICA_BAD_PATH' }, path)
  }
  await batch.discard()
  assert.deepEqual(readdirSync(base), [])
})

test('durable batches wait beside the data and are applied in the order they were made', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'organism-journal-'))
  t.after(() => { rmSync(base, { recursive: true, force: true }) })
  const dir = join(base, 'data')
  for (const text of ['first', 'second', 'third']) {
    const b = await openBatch(dir)
    await b.add(RFRAME.file, Buffer.from(JSON.stringify({ path: 'a', size: text.length, mode: 0o644 })))
    const blk = Buffer.alloc(4); blk.writeUInt32BE(0)
    await b.add(RFRAME.block, Buffer.concat([blk, Buffer.from(text)]))
    await b.commit()
  }
  assert.equal(readdirSync(base).filter((n) => n.includes('.journal.d-')).length, 3, 'durable, not yet applied')
  assert.equal(await replayJournal(dir), 16)
  assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'third')
  assert.deepEqual(readdirSync(base).sort(), ['data'])
})
