// A stateless function with `instances: auto` on three real cells: it runs on two; a load past the genome's limit on
// one of them makes the organism add the third cell's instance by itself, and quiet gives it up again.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { TestOrganism } from '../helpers/organism.ts'
import { request, waitFor } from '../helpers/cell-process.ts'
import type { TestCell } from '../helpers/organism.ts'

const HELLO = [
  "import { createServer } from 'node:http'",
  'createServer((req, res) => {',
  "  if (req.url === '/health') { res.end('ok'); return }",
  '  res.end(process.env.ORGANISM_CELL)',
  "}).listen(Number(process.env.PORT), '127.0.0.1')",
  ''
].join('\n')

// The demo's limits (20 requests/s over 10 s) with a short quiet period.
const org = await TestOrganism.create((yaml) => yaml.replace('# Demo-sized limits', ['  hello:', '    code: functions/hello', '    start: node server.mjs', '    stateless: true',
  '    max_instances: 3', '    scale_in_after: 5s', '# Demo-sized limits'].join('\n')), { 'functions/hello/server.mjs': HELLO })
after(() => org.destroy())

const instancesOn = async (c: TestCell): Promise<string[]> => (await c.status()).placements.find((p) => p.fn === 'hello')?.instanceNames ?? []

test('instances: auto adds a cell\'s instance under a load past the limit and gives it up after the quiet period', async () => {
  await org.start('alpha', 1)
  await org.start('beta', 2)
  await org.start('gamma', 3)
  await org.converged(3)
  // Settled: the same two cells for 3 s (a cell that joined may take an instance, the one it replaces drains).
  let two: string[] = []
  await waitFor('hello runs on the same two cells for 3 s', async () => {
    const before = await instancesOn(org.cells[0])
    await new Promise((resolve) => setTimeout(resolve, 3000))
    two = await instancesOn(org.cells[0])
    return before.length === 2 && before.join() === two.join()
  }, { tries: 40, everyMs: 100 })
  const hot = org.cells.find((c) => two.includes(c.name)) as TestCell
  const port = (await hot.status()).router.port
  // About 60 requests/s, one at a time, through a cell that runs an instance: its own instance takes them all. The
  // load runs on its own, so that slow status calls do not thin it.
  let three: string[] = []
  let asked = false
  let sent = 0
  const t0 = Date.now()
  const until = t0 + 60_000
  const load = (async () => {
    while (Date.now() < until && !(asked && three.length === 3)) {
      const r = await request(port, 'hello.campus.test', '/')
      assert.equal(r.status, 200, r.body)
      sent++
      await new Promise((resolve) => setTimeout(resolve, 15))
    }
  })()
  while (Date.now() < until && !(asked && three.length === 3)) {
    await new Promise((resolve) => setTimeout(resolve, 400))
    three = await instancesOn(org.cells[0])
    asked = (await hot.status()).events.some((e) => /asked for one more instance of hello/.test(e.text))
  }
  await load
  const rate = Math.round(sent / ((Date.now() - t0) / 1000))
  assert.ok(asked, `${hot.name} never asked for another instance in a minute of ${rate} requests/s; its division policy says: ${(await hot.status()).division}`)
  assert.equal(three.length, 3, `still ${three.join(',')} after a minute past the limit`)
  await waitFor('quiet: back to two instances', async () => (await instancesOn(org.cells[0])).length === 2, { tries: 240, everyMs: 250 })
})
