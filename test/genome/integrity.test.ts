// An exported genome watched for changes on disk, with real git: the digest is the commit's own tree id while the
// files are intact; an edit (even one that puts the modification time back), a lost executable bit, a deleted file
// or a directory swapped for a symlink is found, and restore writes back exactly the signed bytes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmod, mkdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { checkoutGenome, signedCommit, ExportWatch, MIRROR_DIR } from '../../src/genome/index.ts'
import { git, makeRepo, put, signersLine, tempDir, testKeys } from './helpers.ts'

const k = testKeys('alice')

async function exported (t: { after: (fn: () => Promise<void>) => void }): Promise<{ dir: string, root: string, commit: string, tree: string, watch: ExportWatch }> {
  const dir = await tempDir(t, 'genome-i-')
  const repo = await makeRepo(dir, signersLine('alice@example.org', k.alice))
  await put(repo, 'functions/web/run.sh', '#!/bin/sh\necho hi\n')
  await chmod(join(repo, 'functions/web/run.sh'), 0o755)
  await put(repo, 'functions/lib/util.js', 'export const x = 1\n')
  const commit = await signedCommit(repo, 'first', k.alice.path)
  const out = await checkoutGenome(repo, 'main', join(dir, 'genomes'))
  const watch = await ExportWatch.open(join(dir, 'genomes', MIRROR_DIR), commit, out.dir)
  return { dir, root: out.dir, commit, tree: git(repo, ['rev-parse', `${commit}^{tree}`]), watch }
}

test('an intact export reports the commit\'s own tree id, and files beside the tree are not its business', async (t) => {
  const e = await exported(t)
  assert.equal(e.watch.expectedTree(), e.tree)
  assert.deepEqual(await e.watch.check(), { drifted: [], tree: e.tree })
  // What a function's setup writes next to its code (node_modules, a build) is not watched.
  await mkdir(join(e.root, 'functions/web/node_modules'), { recursive: true })
  await writeFile(join(e.root, 'functions/web/node_modules/dep.js'), 'x')
  assert.deepEqual((await e.watch.check()).drifted, [])
})

test('an edit that puts the modification time back is still found, and restore writes the signed bytes back', async (t) => {
  const e = await exported(t)
  const file = join(e.root, 'functions/web/server.js')
  const original = await readFile(file, 'utf8')
  assert.deepEqual((await e.watch.check()).drifted, [])
  const before = await stat(file)
  await writeFile(file, 'evil()\n')
  await utimes(file, before.atime, before.mtime)
  const r = await e.watch.check()
  assert.deepEqual(r.drifted, ['functions/web/server.js'])
  assert.notEqual(r.tree, e.tree, 'the digest peers see changes with the bytes')
  await e.watch.restore(r.drifted)
  assert.equal(await readFile(file, 'utf8'), original)
  assert.deepEqual(await e.watch.check(), { drifted: [], tree: e.tree })
})

test('a lost executable bit, a deleted file and a directory swapped for a symlink are found and restored', async (t) => {
  const e = await exported(t)
  await chmod(join(e.root, 'functions/web/run.sh'), 0o644)
  await rm(join(e.root, 'organism.yaml'))
  const outside = join(e.dir, 'outside')
  await mkdir(outside)
  await writeFile(join(outside, 'util.js'), 'export const x = "evil"\n')
  await rm(join(e.root, 'functions/lib'), { recursive: true })
  await symlink(outside, join(e.root, 'functions/lib'))
  const r = await e.watch.check()
  assert.deepEqual([...r.drifted].sort(), ['functions/lib/util.js', 'functions/web/run.sh', 'organism.yaml'])
  await e.watch.restore(r.drifted)
  assert.deepEqual(await e.watch.check(), { drifted: [], tree: e.tree })
  assert.equal(await readFile(join(outside, 'util.js'), 'utf8'), 'export const x = "evil"\n', 'nothing was written through the link')
  assert.equal(execFileSync('sh', [join(e.root, 'functions/web/run.sh')], { encoding: 'utf8' }), 'hi\n')
})

test('a change under the export is reported soon (inotify), without waiting for the next periodic check', async (t) => {
  const e = await exported(t)
  let changes = 0
  const stop = e.watch.onChange(() => { changes++ })
  t.after(stop)
  await writeFile(join(e.root, 'functions/lib/util.js'), 'export const x = 2\n')
  for (let i = 0; i < 100 && changes === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50))
  assert.ok(changes > 0, 'an edit of a watched file was reported')
  assert.deepEqual((await e.watch.check()).drifted, ['functions/lib/util.js'])
  stop()
  const before = changes
  await writeFile(join(e.root, 'functions/web/run.sh'), 'echo changed\n')
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.equal(changes, before, 'nothing is reported after stop')
})
