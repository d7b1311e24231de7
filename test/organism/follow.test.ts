// `cell start --follow`: a signed commit pushed to the genome repo rolls out through two real cells by itself, one
// rollout (not one per cell), with no command typed; a commit that fails its trial is marked bad on every cell and
// not tried again.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TestOrganism } from '../helpers/organism.ts'
import { request, waitFor } from '../helpers/cell-process.ts'
import { signedCommit } from '../../src/genome/index.ts'

const org = await TestOrganism.create((yaml) => `${yaml}\nupdate: { waves: 1, bake: 1s }\n`)
after(() => org.destroy())

async function catalog (message: string, edit: (code: string) => string): Promise<string> {
  const file = join(org.genomeRepo, 'functions/catalog/server.mjs')
  await writeFile(file, edit(await readFile(file, 'utf8')))
  return await signedCommit(org.genomeRepo, message, org.signingKey)
}

test('a signed push to the genome repo reaches every following cell by itself', async () => {
  await org.start('alpha', 1, ['--follow'])
  await org.start('beta', 2, ['--follow'])
  await org.converged(2)
  const v2 = await catalog('catalog v2', (c) => c.replace("serve('catalog', {", "serve('catalog', {\n  'GET /version': (_req, res) => send(res, 200, { version: 2 }),"))
  await waitFor('both cells run the pushed commit', async () => {
    for (const c of org.cells) if ((await c.status()).genome.commit !== v2) return false
    return true
  }, { tries: 240, everyMs: 250 })
  const s = await org.cells[1].status()
  assert.equal((await request(s.router.port, 'catalog.campus.test', '/version')).status, 200)
  const rollouts = (await Promise.all(org.cells.map(async (c) => (await c.status()).events.filter((e) => e.text.includes(`is at ${v2.slice(0, 12)}: rolling it out`)).length))).reduce((a, b) => a + b, 0)
  assert.equal(rollouts, 1, 'one cell rolled it out; the other took it from that rollout')
})

test('a pushed commit that fails its trial is marked bad everywhere and not tried again', async () => {
  const bad = await catalog('catalog that cannot start', (c) => `process.exit(3)\n${c}`)
  await waitFor('the commit is refused and marked bad on both cells', async () => {
    for (const c of org.cells) {
      const pin = JSON.parse(await readFile(join(c.state, 'genome-pin.json'), 'utf8')) as { bad?: string[] }
      if (pin.bad?.includes(bad) !== true) return false
    }
    return true
  }, { tries: 240, everyMs: 250 })
  // Both turns pass (30 s each) without another try.
  await new Promise((resolve) => setTimeout(resolve, 35_000))
  const tries = (await Promise.all(org.cells.map(async (c) => (await c.status()).events.filter((e) => e.text.includes(`is at ${bad.slice(0, 12)}: rolling it out`)).length))).reduce((a, b) => a + b, 0)
  assert.equal(tries, 1, 'tried once, by one cell')
  for (const c of org.cells) assert.notEqual((await c.status()).genome.commit, bad)
})
