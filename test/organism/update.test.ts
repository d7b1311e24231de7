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

// Bakes of 2 s, so that a rollout through three cells takes seconds.
const org = await TestOrganism.create((yaml) => `${yaml}\nupdate: { waves: 2, bake: 2s }\n`)
after(() => org.destroy())
let forgedCommit = ''
let v1Commit = ''
let v2Commit = ''
const head = (): string => execFileSync('git', ['-C', org.genomeRepo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim()

test('a good update reaches every cell by itself, under load, with no failed request and every write kept', async () => {
  await org.start('alpha', 1)
  await org.start('beta', 2)
  await org.start('gamma', 3)
  await org.converged(3)
  const v1 = head()
  v1Commit = v1
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
  /** What each failed request was told, for the assertion's message. */
  const failures: string[] = []
  const noted = (r: { status: number, headers?: Record<string, unknown>, body?: string }): number => {
    if (r.status >= 300 || r.status === 0) failures.push(`${r.status} ${String(r.headers?.['x-organism-error'] ?? '')} ${(r.body ?? '').slice(0, 300)}`)
    return r.status
  }
  const load = Promise.all([
    (async () => { while (!stop && reads.length < 20_000) { reads.push(noted(await request(beta.router.port, 'catalog.campus.test', '/courses').catch(() => ({ status: 0 })))); await new Promise((resolve) => setTimeout(resolve, 5)) } })(),
    (async () => {
      for (let i = 0; !stop && i < 5000; i++) {
        const text = `post ${i}`
        const r = await request(beta.router.port, 'forum.campus.test', '/courses/cs101/posts', { method: 'POST', body: JSON.stringify({ author: 'ada', text }) }).catch(() => ({ status: 0 }))
        writes.push(noted(r))
        if (r.status === 201) acked.push(text)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })()
  ])
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const offered = await runCli(['update', '--state', org.cells[0].state])
  assert.equal(offered.code, 0, offered.stderr + offered.stdout)
  assert.match(offered.stdout, new RegExp(`commit ${v2.slice(0, 12)}: every cell runs it`))
  assert.match(offered.stdout, /canary alpha: done \(bake: \d+ requests, 0 5xx/)
  for (const name of ['beta', 'gamma']) assert.match(offered.stdout, new RegExp(`wave \\d ${name}: done`))
  v2Commit = v2
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
  assert.deepEqual([...new Set(reads)], [200], `every read answered: ${failures.join('\n')}`)
  assert.deepEqual([...new Set(writes)], [201], `every write acknowledged: ${failures.join('\n')}`)
  const posts = JSON.parse((await request(beta.router.port, 'forum.campus.test', '/courses/cs101/posts')).body) as Array<{ text: string }>
  const kept = new Set(posts.map((p) => p.text))
  assert.deepEqual(acked.filter((t) => !kept.has(t)), [], 'every acknowledged write is there after the update')
  const events = (await org.cells[1].status()).events.map((e) => e.text)
  assert.ok(events.some((t) => t.includes(`runs commit ${v2.slice(0, 12)}`)), events.join('\n'))
  for (const c of org.cells) assert.deepEqual((await c.status()).events.filter((e) => e.kind === 'tamper').map((e) => e.text), [], `${c.name}: an update is no tampering`)
})

/** Commits a new catalog (its server.mjs changed by `edit`) on top of the genome repo's main branch. */
async function catalogCommit (message: string, edit: (code: string) => string): Promise<string> {
  const file = join(org.genomeRepo, 'functions/catalog/server.mjs')
  await writeFile(file, edit(await readFile(file, 'utf8')))
  return await signedCommit(org.genomeRepo, message, org.signingKey)
}

/** Reads of catalog through beta until stop() (at most 20,000), and their statuses. */
function readLoad (): { statuses: number[], stop: () => Promise<void> } {
  const statuses: number[] = []
  let stopped = false
  const done = (async () => {
    const port = (await org.cells[1].status()).router.port
    while (!stopped && statuses.length < 20_000) {
      statuses.push((await request(port, 'catalog.campus.test', '/courses').catch(() => ({ status: 0 }))).status)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })()
  return { statuses, stop: async () => { stopped = true; await done } }
}

test('a version that cannot start is refused at its trial: the old one serves throughout, the commit is marked bad', async () => {
  const bad = await catalogCommit('catalog that cannot start', (code) => `process.exit(3)\n${code}`)
  const load = readLoad()
  const r = await runCli(['update', '--state', org.cells[0].state])
  await load.stop()
  assert.equal(r.code, 1, r.stdout + r.stderr)
  assert.match(r.stdout, new RegExp(`commit ${bad.slice(0, 12)}: reverted`))
  assert.match(r.stdout, /canary alpha: refused: the trial of catalog failed: it exited/)
  assert.match(r.stdout, /wave \d beta: not offered/)
  assert.deepEqual([...new Set(load.statuses)], [200], 'the old version served every read')
  for (const c of org.cells) assert.equal((await c.status()).genome.commit, v2Commit, `${c.name} still runs the good commit`)
  const again = await runCli(['update', '--state', org.cells[0].state])
  assert.notEqual(again.code, 0)
  assert.match(again.stderr, /GENOME_COMMIT_BAD/)
})

test('a version that answers 5xx to the reads users make is refused at its trial: the old one serves throughout', async () => {
  const bad = await catalogCommit('catalog that fails', (code) => code.replace("'GET /courses': (_req, res) => send(res, 200, Object.values(db.value.courses)),", "'GET /courses': (_req, res) => send(res, 500, { error: 'broken' }),").replace('process.exit(3)\n', ''))
  const load = readLoad()
  const started = Date.now()
  const r = await runCli(['update', '--state', org.cells[0].state])
  const took = Date.now() - started
  await new Promise((resolve) => setTimeout(resolve, 1000))
  await load.stop()
  assert.equal(r.code, 1, r.stdout + r.stderr)
  assert.match(r.stdout, new RegExp(`commit ${bad.slice(0, 12)}: reverted`))
  assert.match(r.stdout, /canary alpha: refused: the trial of catalog failed: it answered \d+ of \d+ with 5xx/)
  console.log(`# update offered to refused: ${took} ms; ${load.statuses.filter((s) => s !== 200).length} of ${load.statuses.length} reads failed`)
  assert.deepEqual([...new Set(load.statuses)], [200], 'the old version served every read')
  assert.ok(took < 30_000, `reverted in ${took} ms`)
  for (const c of org.cells) assert.equal((await c.status()).genome.commit, v2Commit, `${c.name} runs the good commit again`)
  assert.equal(load.statuses.at(-1), 200, 'the old version serves again')
  const body = (await request((await org.cells[1].status()).router.port, 'catalog.campus.test', '/courses')).body
  assert.ok(body.includes('cs101'))
})

test('a version whose writes fail (no read shows it) is reverted by itself after the canary\'s bake, and marked bad', async () => {
  const bad = await catalogCommit('catalog whose writes fail', (code) => code
    .replace("'GET /courses': (_req, res) => send(res, 500, { error: 'broken' }),", "'GET /courses': (_req, res) => send(res, 200, Object.values(db.value.courses)),")
    .replace("'POST /courses': async (req, res) => {", "'POST /courses': async (req, res) => { if (req) return send(res, 500, { error: 'broken' })"))
  const port = (await org.cells[1].status()).router.port
  let stop = false
  const writes: number[] = []
  const load = (async () => {
    for (let i = 0; !stop && i < 5000; i++) {
      writes.push((await request(port, 'catalog.campus.test', '/courses', { method: 'POST', body: JSON.stringify({ id: `x${i}`, title: `course ${i}` }) }).catch(() => ({ status: 0 }))).status)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })()
  const started = Date.now()
  const r = await runCli(['update', '--state', org.cells[0].state])
  const took = Date.now() - started
  await new Promise((resolve) => setTimeout(resolve, 1000))
  stop = true
  await load
  assert.equal(r.code, 1, r.stdout + r.stderr)
  assert.match(r.stdout, new RegExp(`commit ${bad.slice(0, 12)}: reverted`))
  assert.match(r.stdout, /canary alpha: reverted \(bake: \d+ requests, \d+ 5xx.*its gate failed: \d+ of \d+ requests answered 5xx/)
  console.log(`# update offered to reverted: ${took} ms; ${writes.filter((s) => s !== 201).length} of ${writes.length} writes failed (at the canary, during its bake)`)
  assert.ok(took < 30_000, `reverted in ${took} ms`)
  for (const c of org.cells) assert.equal((await c.status()).genome.commit, v2Commit, `${c.name} runs the good commit again`)
  assert.equal(writes.at(-1), 201, 'writes succeed again on the old version')
})

test('a version that fails only at a later wave is reverted on every cell that took it, by itself', async () => {
  const [alpha, , gamma] = org.cells
  const moved = await runCli(['move', 'forum', '--to', 'gamma', '--state', alpha.state])
  assert.equal(moved.code, 0, moved.stderr)
  const fixed = await catalogCommit('forum and catalog v3', (code) => code.replace("'POST /courses': async (req, res) => { if (req) return send(res, 500, { error: 'broken' })", "'POST /courses': async (req, res) => {"))
  // The same commit also changes forum: its writes fail, but only where gamma runs it.
  const forum = join(org.genomeRepo, 'functions/forum/server.mjs')
  await writeFile(forum, (await readFile(forum, 'utf8')).replace("'POST /courses/:course/posts': async (req, res, { course }) => {", "'POST /courses/:course/posts': async (req, res, { course }) => {\n    if (process.env.ORGANISM_CELL === 'gamma') return send(res, 500, { error: 'broken on gamma' })"))
  const worse = await signedCommit(org.genomeRepo, 'forum breaks on gamma', org.signingKey)
  assert.notEqual(worse, fixed)
  const port = (await org.cells[1].status()).router.port
  let stop = false
  const posts: number[] = []
  const acked: string[] = []
  const load = (async () => {
    for (let i = 0; !stop && i < 5000; i++) {
      const text = `wave post ${i}`
      const r = await request(port, 'forum.campus.test', '/courses/cs101/posts', { method: 'POST', body: JSON.stringify({ author: 'ada', text }) }).catch(() => ({ status: 0 }))
      posts.push(r.status)
      if (r.status === 201) acked.push(text)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })()
  const r = await runCli(['update', '--state', alpha.state])
  await new Promise((resolve) => setTimeout(resolve, 1000))
  stop = true
  await load
  assert.equal(r.code, 1, r.stdout + r.stderr)
  assert.match(r.stdout, new RegExp(`commit ${worse.slice(0, 12)}: reverted`))
  assert.match(r.stdout, /canary alpha: done/)
  assert.match(r.stdout, /wave \d gamma: reverted .*its gate failed/)
  for (const c of org.cells) assert.equal((await c.status()).genome.commit, v2Commit, `${c.name} runs the good commit again`)
  for (const c of [alpha, gamma]) assert.ok((await c.status()).events.some((e) => e.text.includes(`reverted commit ${worse.slice(0, 12)}`)), `${c.name} reverted by itself`)
  console.log(`# ${posts.filter((s) => s !== 201).length} of ${posts.length} forum writes failed (at gamma, during its bake)`)
  assert.equal(posts.at(-1), 201, 'forum takes writes again')
  const kept = new Set((JSON.parse((await request(port, 'forum.campus.test', '/courses/cs101/posts')).body) as Array<{ text: string }>).map((p) => p.text))
  assert.deepEqual(acked.filter((t) => !kept.has(t)), [], 'every acknowledged write is there after the revert')
})

test('an older commit, one that does not descend and one signed by a stranger are refused, naming why', async () => {
  const alpha = org.cells[0]
  const older = v1Commit
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
  const answer = JSON.parse(new TextDecoder().decode(await mallory.request(id, '/organism/campus/update/1.0.0', new TextEncoder().encode(JSON.stringify({ commit: forgedCommit }))))) as { phase: string, code?: string, why?: string }
  assert.equal(answer.phase, 'refused', JSON.stringify(answer))
  assert.match(answer.code ?? '', /^GENOME_/)
  assert.match(answer.why ?? '', new RegExp(forgedCommit.slice(0, 12)))
  const s = await alpha.status()
  assert.notEqual(s.genome.commit, forgedCommit)
  assert.ok(s.events.some((e) => /refused an update offered by/.test(e.text)), s.events.map((e) => e.text).join('\n'))
})
