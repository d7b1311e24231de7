// The cell's own bundle on disk: an edit (or a removal, or a symlink put in its place) is written back from the bytes
// the cell started from; a touch or a chmod that leaves the bytes is no change; a cell run from a checkout has none.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, symlink, utimes, writeFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BundleWatch } from '../../src/cell/bundle-watch.ts'

test('an edited, removed or replaced bundle is restored byte for byte; a touch is not a change', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bundle-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'cell.mjs')
  const original = 'console.log("the cell")\n'.repeat(1000)
  await writeFile(path, original, { mode: 0o755 })
  const w = await BundleWatch.open(path)
  assert.ok(w != null)
  assert.deepEqual(await w.check(), { changed: false, restored: false })
  await utimes(path, new Date(), new Date())
  assert.deepEqual(await w.check(), { changed: false, restored: false }, 'same bytes')
  await writeFile(path, original.replace('the cell', 'an intruder'))
  assert.deepEqual(await w.check(), { changed: true, restored: true })
  assert.equal(await readFile(path, 'utf8'), original)
  assert.equal((await stat(path)).mode & 0o777, 0o755, 'its mode is kept')
  await rm(path)
  assert.deepEqual(await w.check(), { changed: true, restored: true })
  await rm(path)
  await writeFile(join(dir, 'evil.mjs'), 'evil()')
  await symlink(join(dir, 'evil.mjs'), path)
  assert.deepEqual(await w.check(), { changed: true, restored: true })
  assert.equal(await readFile(path, 'utf8'), original)
  assert.equal(await readFile(join(dir, 'evil.mjs'), 'utf8'), 'evil()', 'nothing written through the link')
  assert.equal(await BundleWatch.open(join(dir, 'main.ts')), null, 'a cell run from a checkout watches no bundle')
})
