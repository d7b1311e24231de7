// What a live move sends after its pre-copy: changed, new and "racy" files (written close to the first look, which a
// coarse clock could hide), deletions children first; the receiver refuses deletions outside its dir and a copy that
// does not hold exactly what the sender listed. Real files.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, mkdir, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { applyDeletions, deltaOf, expectedOf, manifestMismatch, manifestOf } from '../../src/migrate/manifest.ts'
import { isOrganismError } from '../../src/core/errors.ts'

test('the delta: what changed, what is new, what was written close to the first look, and what went', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'organism-manifest-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const old = new Date(Date.now() - 60_000)
  for (const f of ['same.txt', 'grows.txt', 'gone/a.txt', 'gone/deep/b.txt']) {
    await mkdir(join(dir, f, '..'), { recursive: true })
    await writeFile(join(dir, f), 'x')
    await utimes(join(dir, f), old, old)
  }
  await writeFile(join(dir, 'racy.txt'), 'y')
  const before = await manifestOf(dir, Date.now())
  assert.ok(before != null)
  await writeFile(join(dir, 'grows.txt'), 'xx')
  await utimes(join(dir, 'grows.txt'), old, old)
  await rm(join(dir, 'gone'), { recursive: true })
  await mkdir(join(dir, 'new'))
  await writeFile(join(dir, 'new', 'c.txt'), 'z')
  const after = await manifestOf(dir, Date.now())
  assert.ok(after != null)
  const { send, deleted } = deltaOf(before, after)
  assert.deepEqual(send, ['grows.txt', 'new', 'racy.txt', 'new/c.txt'], 'same size and time but written just now: sent again; parents first')
  assert.deepEqual(deleted, ['gone/deep/b.txt', 'gone/a.txt', 'gone/deep', 'gone'], 'children first')
  assert.equal(await manifestMismatch(dir, expectedOf(after)), null)
  await writeFile(join(dir, 'extra.txt'), 'not at the sender')
  assert.match(await manifestMismatch(dir, expectedOf(after)) ?? '', /extra\.txt is here but not at the sender/)
  await writeFile(join(dir, 'grows.txt'), 'xxx')
  assert.match(await manifestMismatch(dir, expectedOf(after)) ?? '', /grows\.txt is a file of 3 bytes here, a file of 2 bytes at the sender/)
})

test('deletions that would leave the dir are refused before anything is removed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'organism-manifest-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  for (const bad of [['../outside'], ['/etc/passwd'], ['a/../../x'], ['.'], [''], 'not a list']) {
    await assert.rejects(applyDeletions(dir, bad), (err) => isOrganismError(err, 'MIGRATE_DATA_REFUSED') || isOrganismError(err, 'MIGRATE_PROTOCOL'), JSON.stringify(bad))
  }
  await writeFile(join(dir, 'ok.txt'), '1')
  await applyDeletions(dir, ['ok.txt', 'never-was.txt'])
  assert.equal((await manifestOf(dir, 0))?.entries.size, 0)
})
