// No false alarms: a hundred signed updates in a row, each exported and switched to as an update does, with the
// functions writing in their data dirs and logs rotating beside them, and the immune system never raises the alarm.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { checkoutGenome, signedCommit, ExportWatch, MIRROR_DIR } from '../../src/genome/index.ts'
import { createImmune } from '../../src/cell/immune.ts'
import { realClock } from '../../src/core/clock.ts'
import type { OrganismEvent } from '../../src/organism/index.ts'
import { makeRepo, put, signersLine, tempDir, testKeys } from '../genome/helpers.ts'

const k = testKeys('alice')

test('100 updates in a row raise no integrity alarm', async (t) => {
  const dir = await tempDir(t, 'immune-u-')
  const repo = await makeRepo(dir, signersLine('alice@example.org', k.alice))
  const checkouts = join(dir, 'genomes')
  const first = await checkoutGenome(repo, await signedCommit(repo, 'first', k.alice.path), checkouts)
  let watch = await ExportWatch.open(join(checkouts, MIRROR_DIR), first.commit, first.dir)
  const notes: Array<Omit<OrganismEvent, 'at'>> = []
  const immune = createImmune({
    watch: () => watch, functions: () => first.genome.functions,
    supervisor: { get: () => undefined, stopFunction: async () => {}, startFunction: async () => {} },
    cells: () => [], self: () => 'self', nameOf: (p) => p, note: (e) => { notes.push(e) }, clock: realClock
  })
  await immune.start()
  t.after(async () => { await immune.stop() })
  const data = join(dir, 'data')
  await mkdir(data, { recursive: true })
  for (let i = 0; i < 100; i++) {
    await put(repo, 'functions/web/server.js', `console.log("version ${i}")\n`)
    const c = await checkoutGenome(repo, await signedCommit(repo, `v${i}`, k.alice.path), checkouts)
    // What a function and the supervisor do meanwhile: data written, a log rotated, a setup's output next to the code.
    await writeFile(join(data, `row-${i % 7}.json`), JSON.stringify({ i }))
    await writeFile(join(c.dir, 'functions/web/.setup-output'), String(i))
    watch = await ExportWatch.open(join(checkouts, MIRROR_DIR), c.commit, c.dir)
    if (i % 10 === 0) assert.deepEqual((await watch.check()).drifted, [], `update ${i}: the export is its commit`)
  }
  // At least one periodic check ran on the last export (every 5 s).
  await new Promise((resolve) => setTimeout(resolve, 5_500))
  assert.equal(immune.tree(), watch.expectedTree())
  assert.deepEqual(notes.filter((n) => n.kind === 'tamper'), [], 'no alarm')
})
