// bench:update — a signed update through four real cells on loopback (alpha the canary, then beta, gamma, delta in
// two waves, bake BENCH_BAKE, default 5 s) while one reader per cell reads catalog and one writer posts to forum (on
// delta), each one request at a time: the time from `cell update` to every cell serving the new code, and the requests
// that failed meanwhile (goal 0). Then a commit that breaks forum's writes on delta only (it passes the canary): the
// time from delta's failed gate to every cell back on the good commit (goal ≤ 30 s), and what failed.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TestOrganism } from '../test/helpers/organism.ts'
import { request, runCli, waitFor } from '../test/helpers/cell-process.ts'
import { signedCommit } from '../src/genome/index.ts'

const BAKE = process.env.BENCH_BAKE ?? '5s'
const org = await TestOrganism.create((yaml) => `${yaml}\nupdate: { waves: 2, bake: ${BAKE} }\n`)
process.once('SIGINT', () => { void org.destroy().finally(() => process.exit(130)) })

async function commit (file: string, message: string, edit: (code: string) => string): Promise<string> {
  const path = join(org.genomeRepo, file)
  await writeFile(path, edit(await readFile(path, 'utf8')))
  return await signedCommit(org.genomeRepo, message, org.signingKey)
}

/** Readers (catalog, through every cell) and a writer (forum, through alpha), one request at a time each. */
function load (): { stop: () => Promise<{ reads: number, readsFailed: number, writes: number, writesFailed: number }> } {
  let on = true
  const t = { reads: 0, readsFailed: 0, writes: 0, writesFailed: 0 }
  const loops = org.cells.map(async (c, i) => {
    const port = (await c.status()).router.port
    for (let n = 0; on && n < 200_000; n++) {
      if (i === 0 && n % 2 === 0) {
        const r = await request(port, 'forum.campus.test', '/courses/cs101/posts', { method: 'POST', body: JSON.stringify({ author: 'bench', text: `p${n}` }) }).catch(() => ({ status: 0 }))
        t.writes++; if (r.status !== 201) t.writesFailed++
      } else {
        const r = await request(port, 'catalog.campus.test', '/courses').catch(() => ({ status: 0 }))
        t.reads++; if (r.status !== 200) t.readsFailed++
      }
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })
  return { stop: async () => { on = false; await Promise.all(loops); return t } }
}

try {
  for (const [name, n] of [['alpha', 1], ['beta', 2], ['gamma', 3], ['delta', 4]] as const) await org.start(name, n)
  await org.converged(4)
  const moved = await runCli(['move', 'forum', '--to', 'delta', '--state', org.cells[0].state])
  if (moved.code !== 0) throw new Error(`move failed: ${moved.stderr}`)
  const good = await commit('functions/catalog/server.mjs', 'catalog v2', (c) => c.replace("serve('catalog', {", "serve('catalog', {\n  'GET /version': (_req, res) => send(res, 200, { version: 2 }),"))
  let l = load()
  const t0 = Date.now()
  const r = await runCli(['update', '--state', org.cells[0].state])
  await waitFor('every cell serves v2', async () => {
    for (const c of org.cells) if ((await request((await c.status()).router.port, 'catalog.campus.test', '/version')).status !== 200) return false
    return true
  }, { tries: 600, everyMs: 100 })
  const servedMs = Date.now() - t0
  const a = await l.stop()
  console.log(r.stdout.trim())
  console.log(`good update: served by all 4 cells ${(servedMs / 1000).toFixed(1)} s after \`cell update\` (bake ${BAKE} ×3 stages); reads ${a.readsFailed}/${a.reads} failed, writes ${a.writesFailed}/${a.writes} failed`)

  const bad = await commit('functions/forum/server.mjs', 'forum breaks on delta', (c) => c.replace("'POST /courses/:course/posts': async (req, res, { course }) => {", "'POST /courses/:course/posts': async (req, res, { course }) => {\n    if (process.env.ORGANISM_CELL === 'delta') return send(res, 500, { error: 'broken on delta' })"))
  l = load()
  const rb = await runCli(['update', '--state', org.cells[0].state])
  await waitFor('every cell back on the good commit', async () => {
    for (const c of org.cells) if ((await c.status()).genome.commit !== good) return false
    return true
  }, { tries: 600, everyMs: 100 })
  const backAt = Date.now()
  const b = await l.stop()
  const failedAt = Math.min(...(await org.cells[3].status()).events.filter((e) => e.text.includes(`the gate of commit ${bad.slice(0, 12)} failed`)).map((e) => e.at))
  console.log(rb.stdout.trim())
  console.log(`bad update (fails at delta, after the canary): every cell back on the good commit ${((backAt - failedAt) / 1000).toFixed(1)} s after delta's gate failed (goal ≤ 30 s); reads ${b.readsFailed}/${b.reads} failed, writes ${b.writesFailed}/${b.writes} failed (at delta during its bake)`)
} finally {
  await org.destroy()
}
