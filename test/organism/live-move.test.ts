// Live moves between two real cells: the data dir goes while the function serves, requests wait only for the
// changes and the start; under a read and a write load no request fails and every acknowledged write is there after.
// A hold that would last longer than the genome's bound calls the move off: the function serves at its owner again.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TestOrganism } from '../helpers/organism.ts'
import { request, runCli, waitFor } from '../helpers/cell-process.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

test('a live move of 200 MB under reads and writes: no request fails, every acknowledged write and every byte arrives', async (t) => {
  const org = await TestOrganism.create()
  t.after(() => org.destroy())
  const alpha = await org.start('alpha', 1)
  const beta = await org.start('beta', 2)
  await org.converged(2)
  // 200 MB the function did not write itself (attachments, say) go along too, byte for byte.
  const blob = randomBytes(8 * 1024 * 1024)
  await writeFile(join(alpha.state, 'functions', 'data', 'forum', 'attachments.bin'), blob)
  for (let i = 0; i < 48; i++) await writeFile(join(alpha.state, 'functions', 'data', 'forum', `old-${i}.bin`), randomBytes(4 * 1024 * 1024))
  const port = (await alpha.status()).router.port
  const statuses = new Map<number, number>()
  const acknowledged: string[] = []
  let running = true
  const load = async (kind: 'read' | 'write', n: number): Promise<void> => {
    for (let i = 0; running && i < 2000; i++) {
      const text = `${kind}-${n}-${i}`
      const r = kind === 'read'
        ? await request(port, 'forum.campus.test', '/courses/cs101/posts', { address: alpha.address }).catch(() => ({ status: 0, body: '' }))
        : await request(port, 'forum.campus.test', '/courses/cs101/posts', { method: 'POST', body: JSON.stringify({ author: 'ada', text }), address: alpha.address }).catch(() => ({ status: 0, body: '' }))
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
      if (kind === 'write' && r.status === 201) acknowledged.push(text)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  const loads = [load('read', 1), load('read', 2), load('write', 1)]
  await waitFor('the load is under way', async () => acknowledged.length >= 5, { tries: 100 })
  const moved = await runCli(['move', 'forum', '--to', 'beta', '--state', alpha.state])
  await new Promise((resolve) => setTimeout(resolve, 500))
  running = false
  await Promise.all(loads)
  assert.equal(moved.code, 0, moved.stderr)
  assert.match(moved.stdout, /forum moved to beta \(epoch 2, \d+ bytes of data, \d+ ms; live: requests held \d+ ms\)/)
  t.diagnostic(moved.stdout.trim())
  const bad = [...statuses].filter(([s]) => s !== 200 && s !== 201)
  assert.deepEqual(bad, [], `every request answered 200/201: ${JSON.stringify([...statuses])}`)
  const after = await request((await beta.status()).router.port, 'forum.campus.test', '/courses/cs101/posts', { address: beta.address })
  assert.equal(after.status, 200)
  const missing = acknowledged.filter((text) => !after.body.includes(text))
  assert.deepEqual(missing, [], `all ${acknowledged.length} acknowledged writes are served by the new owner`)
  assert.equal(sha(await readFile(join(beta.state, 'functions', 'data', 'forum', 'attachments.bin'))), sha(blob))
  const arrived = (await readdir(join(beta.state, 'functions', 'data', 'forum'))).filter((f) => f.startsWith('old-'))
  assert.equal(arrived.length, 48)
  assert.ok((await alpha.status()).events.some((e) => /forum moved to beta \(\d+ bytes, live: requests held \d+ ms\)/.test(e.text)))
})

test('a live move whose hold would pass the genome\'s bound is called off: the function serves at its owner, data intact', async (t) => {
  const org = await TestOrganism.create((yaml) => `${yaml}\nmoves: { live: true, hold_max: 1ms }\n`)
  t.after(() => org.destroy())
  const alpha = await org.start('alpha', 1)
  await org.start('beta', 2)
  await org.converged(2)
  const port = (await alpha.status()).router.port
  const post = await request(port, 'forum.campus.test', '/courses/cs101/posts', { method: 'POST', body: JSON.stringify({ author: 'ada', text: 'kept at home' }), address: alpha.address })
  assert.equal(post.status, 201)
  const moved = await runCli(['move', 'forum', '--to', 'beta', '--state', alpha.state])
  assert.notEqual(moved.code, 0)
  assert.match(moved.stderr, /MIGRATE_HOLD_EXCEEDED[\s\S]*called off/)
  assert.equal((await alpha.status()).placements.find((p) => p.fn === 'forum')?.ownerName, 'alpha')
  const read = await waitFor('forum serves at alpha again', async () => { const r = await request(port, 'forum.campus.test', '/courses/cs101/posts', { address: alpha.address }); return r.status === 200 ? r : null }, { tries: 100 })
  assert.ok(read.body.includes('kept at home'))
})

test('the receiver killed -9 in the middle of a pre-copy: the move fails, the function serves at its owner with every write, the half copy is gone after a restart', async (t) => {
  const org = await TestOrganism.create()
  t.after(() => org.destroy())
  const alpha = await org.start('alpha', 1)
  const beta = await org.start('beta', 2)
  await org.converged(2)
  for (let i = 0; i < 50; i++) await writeFile(join(alpha.state, 'functions', 'data', 'forum', `old-${i}.bin`), randomBytes(4 * 1024 * 1024))
  const port = (await alpha.status()).router.port
  const post = await request(port, 'forum.campus.test', '/courses/cs101/posts', { method: 'POST', body: JSON.stringify({ author: 'ada', text: 'before the cut' }), address: alpha.address })
  assert.equal(post.status, 201)
  const staging = join(beta.state, 'functions', 'data', 'forum.precopy')
  const moving = runCli(['move', 'forum', '--to', 'beta', '--state', alpha.state])
  await waitFor('the pre-copy has begun at beta', async () => await readdir(staging).then((f) => f.length > 0, () => false), { tries: 200, everyMs: 20 })
  beta.proc.child.kill('SIGKILL')
  await beta.proc.exited
  const moved = await moving
  assert.notEqual(moved.code, 0, 'the move did not complete')
  await waitFor('alpha owns and serves forum', async () => {
    const r = await request(port, 'forum.campus.test', '/courses/cs101/posts', { address: alpha.address })
    return r.status === 200 && r.body.includes('before the cut') && (await alpha.status()).placements.find((p) => p.fn === 'forum')?.ownerName === 'alpha'
  }, { tries: 150, everyMs: 200 }).catch((err: Error) => { throw new Error(`${err.message}\nalpha's last output:\n${alpha.proc.output().slice(-4000)}`) })
  assert.equal((await readdir(join(alpha.state, 'functions', 'data', 'forum'))).filter((f) => f.startsWith('old-')).length, 50, 'the owner kept its data')
  await org.restart(beta)
  await waitFor('beta dropped the half copy', async () => await readdir(staging).then(() => false, () => true), { tries: 100 })
})
