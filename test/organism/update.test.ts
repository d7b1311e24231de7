// A signed update through three real cells: `cell update` on one offers a new commit, every cell fetches its
// objects from that cell over the member link, verifies it and switches, under a read and a write load: every cell
// on the new commit, no failed request, no acknowledged write lost. An older commit, one that does not descend and
// one signed by a stranger's key are refused, naming why.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TestOrganism } from '../helpers/organism.ts'
import { request, runCli, waitFor } from '../helpers/cell-process.ts'
import { signedCommit, ensureSigningKey, importCommit, MIRROR_DIR } from '../../src/genome/index.ts'
import { createPeerNode } from '../../src/peers/index.ts'
import { serveBundle } from '../../src/update/index.ts'

const org = await TestOrganism.create()
after(() => org.destroy())
let forgedCommit = ''
const head = (): string => execFileSync('git', ['-C', org.genomeRepo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim()

test('a good update reaches every cell by itself, under load, with no failed request and every write kept', async () => {
  await org.start('alpha', 1)
  await org.start('beta', 2)
  await org.start('gamma', 3)
  await org.converged(3)
  const v1 = head()
  const file = join(org.genomeRepo, 'functions/catalog/server.mjs')
  await writeFile(file, (await readFile(file, 'utf8')).replace("serve('catalog', {", "serve('catalog', {\n  'GET /version': (_req, res) => send(res, 200, { version: 2 }),"))
  const v2 = await signedCommit(org.genomeRepo, 'catalog tells its version', org.signingKey)
  assert.notEqual(v2, v1)
  const beta = await org.cells[1].status()
  assert.equal((await request(beta.router.port, 'catalog.campus.test', '/version')).status, 404, 'not there before the update')

  let stop = false
  const reads: number[] = []
  const acked: string[] = []
  const writes: number[] = []
  const load = Promise.all([
    (async () => { while (!stop && reads.length < 20_000) { reads.push((await request(beta.router.port, 'catalog.campus.test', '/courses').catch(() => ({ status: 0 }))).status); await new Promise((resolve) => setTimeout(resolve, 5)) } })(),
    (async () => {
      for (let i = 0; !stop && i < 5000; i++) {
        const text = `post ${i}`
        const r = await request(beta.router.port, 'forum.campus.test', '/courses/cs101/posts', { method: 'POST', body: JSON.stringify({ author: 'ada', text }) }).catch(() => ({ status: 0 }))
        writes.push(r.status)
        if (r.status === 201) acked.push(text)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })()
  ])
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const offered = await runCli(['update', '--state', org.cells[0].state])
  assert.equal(offered.code, 0, offered.stderr + offered.stdout)
  assert.match(offered.stdout, new RegExp(`commit ${v2.slice(0, 12)} offered`))
  for (const name of ['alpha', 'beta', 'gamma']) assert.match(offered.stdout, new RegExp(`${name}: updating`))
  await waitFor('every cell runs the new commit and serves its code', async () => {
    for (const c of org.cells) {
      const s = await c.status()
      if (s.genome.commit !== v2) return false
      if ((await request(s.router.port, 'catalog.campus.test', '/version')).status !== 200) return false
    }
    return true
  }, { tries: 240, everyMs: 250 })
  await new Promise((resolve) => setTimeout(resolve, 1000))
  stop = true
  await load
  assert.ok(reads.length > 50 && writes.length > 20, `${reads.length} reads, ${writes.length} writes`)
  assert.deepEqual([...new Set(reads)], [200], 'every read answered')
  assert.deepEqual([...new Set(writes)], [201], 'every write acknowledged')
  const posts = JSON.parse((await request(beta.router.port, 'forum.campus.test', '/courses/cs101/posts')).body) as Array<{ text: string }>
  const kept = new Set(posts.map((p) => p.text))
  assert.deepEqual(acked.filter((t) => !kept.has(t)), [], 'every acknowledged write is there after the update')
  const events = (await org.cells[1].status()).events.map((e) => e.text)
  assert.ok(events.some((t) => t.includes(`runs commit ${v2.slice(0, 12)}`)), events.join('\n'))
})

test('an older commit, one that does not descend and one signed by a stranger are refused, naming why', async () => {
  const alpha = org.cells[0]
  const older = execFileSync('git', ['-C', org.genomeRepo, 'rev-parse', 'HEAD~1'], { encoding: 'utf8' }).trim()
  const back = await runCli(['update', '--state', alpha.state, '--ref', older])
  assert.notEqual(back.code, 0)
  assert.match(back.stderr, /GENOME_NOT_DESCENDANT/)
  assert.match(back.stderr, /is older than/)

  const git = (...args: string[]): string => execFileSync('git', ['-C', org.genomeRepo, ...args], { encoding: 'utf8' }).trim()
  git('checkout', '-q', '--orphan', 'rewritten')
  await signedCommit(org.genomeRepo, 'a history of its own', org.signingKey)
  const orphan = await runCli(['update', '--state', alpha.state, '--ref', 'rewritten'])
  assert.notEqual(orphan.code, 0)
  assert.match(orphan.stderr, /GENOME_NOT_DESCENDANT/)
  assert.match(orphan.stderr, /does not descend/)

  git('checkout', '-q', 'main')
  const stranger = join(org.dir, 'stranger-key')
  await ensureSigningKey(stranger)
  await writeFile(join(org.genomeRepo, 'functions/catalog/server.mjs'), '// taken over\n')
  const forged = await signedCommit(org.genomeRepo, 'not yours to sign', stranger)
  forgedCommit = forged
  const refused = await runCli(['update', '--state', alpha.state, '--ref', forged])
  assert.notEqual(refused.code, 0)
  assert.match(refused.stderr, /GENOME_/)
  assert.match(refused.stderr, new RegExp(forged.slice(0, 12)))
  for (const c of org.cells) assert.notEqual((await c.status()).genome.commit, forged, `${c.name} does not run the forged commit`)
})

test('a member that offers a commit signed by a stranger straight to a cell is refused by that cell, naming why', async (t) => {
  const alpha = org.cells[0]
  const admitted = await runCli(['admit', '--state', alpha.state])
  assert.equal(admitted.code, 0, admitted.stderr)
  // A member of its own making: it joins with a real token, then offers the forged commit from its own store.
  const mallory = await createPeerNode({ identityFile: join(org.dir, 'mallory.key'), organism: 'campus' })
  t.after(async () => { await mallory.stop() })
  await mallory.join(undefined, admitted.stdout.trim())
  const store = join(org.dir, 'mallory-store', MIRROR_DIR)
  await importCommit(org.genomeRepo, forgedCommit, store)
  await mallory.handleStream('/organism/campus/genome-bundle/1.0.0', (s) => { void serveBundle(s, store, org.dir) })
  const id = (await alpha.status()).cell.id
  const answer = JSON.parse(new TextDecoder().decode(await mallory.request(id, '/organism/campus/update/1.0.0', new TextEncoder().encode(JSON.stringify({ commit: forgedCommit }))))) as { verdict: string, code?: string, why?: string }
  assert.equal(answer.verdict, 'refused', JSON.stringify(answer))
  assert.match(answer.code ?? '', /^GENOME_/)
  assert.match(answer.why ?? '', new RegExp(forgedCommit.slice(0, 12)))
  const s = await alpha.status()
  assert.notEqual(s.genome.commit, forgedCommit)
  assert.ok(s.events.some((e) => /refused an update offered by/.test(e.text)), s.events.map((e) => e.text).join('\n'))
})
