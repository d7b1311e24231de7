// The replica's journal: batches acknowledged before a crash are applied whole, in order, at the next use; an
// unfinished one (never acknowledged) and one whose bytes did not all reach the disk are dropped; a checked batch
// that cannot be applied is set aside with a clear error, never half applied silently.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, rmSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openJournal, replayJournal, segmentPrefix, RFRAME } from '../../src/replica/journal.ts'
import type { Journal } from '../../src/replica/journal.ts'

const fileFrame = (path: string, size: number): Buffer => Buffer.from(JSON.stringify({ path, size, mode: 0o644 }))
const block = (i: number, data: string | Buffer): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(i); return Buffer.concat([b, Buffer.from(data)]) }
const write = (j: Journal, path: string, text: string): void => { j.add(RFRAME.file, fileFrame(path, text.length)); j.add(RFRAME.block, block(0, text)) }

function scratch (t: { after: (fn: () => void) => void }): { base: string, dir: string, segments: () => string[] } {
  const base = mkdtempSync(join(tmpdir(), 'organism-journal-'))
  t.after(() => { rmSync(base, { recursive: true, force: true }) })
  const dir = join(base, 'data')
  return { base, dir, segments: () => readdirSync(base).filter((n) => n.startsWith(segmentPrefix(dir))) }
}

test('batches committed before a crash are applied in order at the next replay; an unfinished one is dropped', async (t) => {
  const { base, dir, segments } = scratch(t)
  mkdirSync(dir)
  writeFileSync(join(dir, 'a'), 'old a')
  writeFileSync(join(dir, 'b'), 'old b')
  const j = openJournal(dir)
  write(j, 'a', 'new a')
  write(j, 'sub/c', 'c!!')
  j.add(RFRAME.delete, Buffer.from(JSON.stringify({ path: 'b' })))
  j.commit()
  write(j, 'a', 'newer')
  j.commit()
  write(j, 'a', 'half done') // never committed: never acknowledged
  j.close() // the crash: nothing was applied
  assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'old a')
  assert.equal(segments().length, 1)
  assert.equal(await replayJournal(dir), 13)
  assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'newer')
  assert.equal(readFileSync(join(dir, 'sub/c'), 'utf8'), 'c!!')
  assert.equal(existsSync(join(dir, 'b')), false)
  assert.deepEqual(readdirSync(base).sort(), ['data'])
  assert.equal(await replayJournal(dir), 0, 'nothing is applied twice')
})

test('a batch whose bytes did not all reach the disk fails its checksum and is dropped with what follows', async (t) => {
  const { dir, segments } = scratch(t)
  const j = openJournal(dir)
  write(j, 'a', 'first')
  j.commit()
  write(j, 'a', 'second')
  j.commit()
  j.close()
  const seg = join(dir, '..', segments()[0])
  const bytes = readFileSync(seg)
  const at = bytes.lastIndexOf(Buffer.from('second'))
  bytes[at] = 0 // a page of the last batch never written out
  writeFileSync(seg, bytes)
  assert.equal(await replayJournal(dir), 5)
  assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'first')
  assert.deepEqual(segments(), [])
})

test('a checked batch that cannot be applied is set aside with REPLICA_JOURNAL_INVALID', async (t) => {
  const { dir } = scratch(t)
  const j = openJournal(dir)
  j.add(RFRAME.block, block(0, 'no file before me'))
  j.commit()
  j.close()
  await assert.rejects(replayJournal(dir), { code: 'REPLICA_JOURNAL_INVALID' })
  assert.ok(existsSync(`${dir}.journal.bad`))
  assert.equal(await replayJournal(dir), 0)
})

test('a batch refuses a path outside its directory before writing it to the journal', async (t) => {
  const { base, dir } = scratch(t)
  const j = openJournal(dir)
  for (const path of ['../x', '/etc/passwd', 'a/../../x', '', './a']) {
    assert.throws(() => { j.add(RFRAME.file, Buffer.from(JSON.stringify({ path, size: 1 }))) }, { code: 'REPLICA_BAD_PATH' }, path)
  }
  j.close()
  assert.deepEqual(readdirSync(base), [])
})

test('applied batches stay in the segment until it is large, then the files are synced and it is retired', async (t) => {
  const { dir, segments } = scratch(t)
  const j = openJournal(dir)
  write(j, 'a', 'one')
  j.commit()
  assert.equal(j.apply(), 3)
  assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'one')
  assert.equal(segments().length, 1, 'the files are not synced yet: the segment holds the batch')
  const big = Buffer.alloc(64 * 1024, 7)
  j.add(RFRAME.file, fileFrame('big', 130 * big.length))
  for (let i = 0; i < 130; i++) j.add(RFRAME.block, block(i, big))
  j.commit()
  assert.equal(j.apply(), 130 * big.length)
  assert.deepEqual(segments(), [], 'retired once past its size')
  write(j, 'a', 'two')
  j.commit()
  assert.equal(segments().length, 1, 'the next batch begins a new segment')
  j.close()
  assert.equal(await replayJournal(dir), 3)
  assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'two')
  assert.equal(readFileSync(join(dir, 'big')).length, 130 * big.length)
})

test('a closed journal (another stream or a takeover replays it) commits and applies nothing more', async (t) => {
  const { dir } = scratch(t)
  const j = openJournal(dir)
  write(j, 'a', 'kept')
  j.commit()
  j.close()
  assert.throws(() => { write(j, 'a', 'late') }, { code: 'REPLICA_UNAVAILABLE' })
  assert.equal(j.apply(), 0)
  assert.equal(await replayJournal(dir), 4)
  assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'kept')
})
