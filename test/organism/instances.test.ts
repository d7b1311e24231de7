// A stateless function on three real cells: each runs an instance, every router spreads requests over them, DNS
// answers each cell that serves it, and a cell killed -9 under load costs no request once it is detected.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { TestOrganism } from '../helpers/organism.ts'
import { request, runCli, waitFor } from '../helpers/cell-process.ts'

export const HELLO = [
  "import { createServer } from 'node:http'",
  'const cell = process.env.ORGANISM_CELL',
  'createServer((req, res) => {',
  "  if (req.url === '/health') { res.end('ok'); return }",
  "  setTimeout(() => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(cell) }, 5)",
  "}).listen(Number(process.env.PORT), '127.0.0.1')",
  ''
].join('\n')

const org = await TestOrganism.create((yaml) => yaml
  .replace('# Demo-sized limits', ['  hello:', '    code: functions/hello', '    start: node server.mjs', '    stateless: true', '    instances: 3', '# Demo-sized limits'].join('\n'))
  // This test's load must not make the organism divide.
  .replace('requests_per_second: 20', 'requests_per_second: 100000'), { 'functions/hello/server.mjs': HELLO })
after(() => org.destroy())

const dig = (port: number, name: string): string[] =>
  execFileSync('dig', ['@127.0.0.1', '-p', String(port), name, 'A', '+short', '+time=2', '+tries=1'], { encoding: 'utf8' }).trim().split('\n').filter((l) => l !== '').sort()

/** GETs through one cell's router, `concurrency` at a time, until `until()` says stop (or 40,000 requests). */
async function load (port: number, concurrency: number, until: () => boolean): Promise<Array<{ at: number, status: number, cell: string }>> {
  const out: Array<{ at: number, status: number, cell: string }> = []
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (!until() && out.length < 40_000) {
      const r = await request(port, 'hello.campus.test', '/').catch((err: Error) => ({ status: 0, body: err.message }))
      out.push({ at: Date.now(), status: r.status, cell: r.status === 200 ? r.body : '' })
    }
  }))
  return out
}

test('three cells each run an instance of a stateless function; every router spreads its requests over them', async () => {
  await org.start('alpha', 1)
  await org.start('beta', 2)
  await org.start('gamma', 3)
  await org.converged(3)
  await waitFor('every cell sees three instances of hello', async () => {
    for (const c of org.cells) {
      const p = (await c.status()).placements.find((x) => x.fn === 'hello')
      if (p?.instanceNames?.join(',') !== 'alpha,beta,gamma') return false
    }
    return true
  }, { tries: 120, everyMs: 250 })
  const alpha = await org.cells[0].status()
  const stop = Date.now() + 3000
  const got = await load(alpha.router.port, 6, () => Date.now() > stop)
  assert.deepEqual([...new Set(got.map((r) => r.status))], [200])
  assert.deepEqual([...new Set(got.map((r) => r.cell))].sort(), ['alpha', 'beta', 'gamma'], 'requests through alpha reached every instance')
  assert.deepEqual(dig(alpha.dns.port, 'hello.campus.test'), ['127.0.0.2', '127.0.0.3', '127.0.0.4'], 'DNS answers every cell that serves it')
  const moved = await runCli(['move', 'hello', '--to', 'beta', '--state', org.cells[0].state])
  assert.notEqual(moved.code, 0)
  assert.match(moved.stderr, /MIGRATE_NOT_MOVABLE/)
})

test('a cell killed -9 under load: no request fails after it is detected, and the others serve on', async () => {
  const [alpha, beta, gamma] = org.cells
  const ports = [(await alpha.status()).router.port, (await beta.status()).router.port]
  let killedAt = Infinity
  const end = Date.now() + 14_000
  const loads = ports.map(async (port) => await load(port, 3, () => Date.now() > end))
  await new Promise((resolve) => setTimeout(resolve, 2000))
  killedAt = Date.now()
  gamma.proc.child.kill('SIGKILL')
  const got = (await Promise.all(loads)).flat()
  // The failure detector's bound: a suspicion lasts at most 5 s, after a missed probe (1 s).
  const detected = killedAt + 6500
  const failedAfter = got.filter((r) => r.at > detected && r.status !== 200)
  const failedBefore = got.filter((r) => r.at <= detected && r.status !== 200)
  console.log(`# ${got.length} requests through alpha and beta (last ${((Math.max(...got.map((r) => r.at)) - killedAt) / 1000).toFixed(1)} s after the kill); failed before detection: ${failedBefore.length}, after: ${failedAfter.length}`)
  assert.equal(failedAfter.length, 0, `statuses after detection: ${failedAfter.map((r) => r.status).join(',')}`)
  const late = got.filter((r) => r.at > detected)
  assert.ok(late.length > 50, `${late.length} requests after detection`)
  assert.deepEqual([...new Set(late.map((r) => r.cell))].sort(), ['alpha', 'beta'], 'the survivors serve every request')
  await waitFor('DNS answers only the living instances', async () => dig((await alpha.status()).dns.port, 'hello.campus.test').join(',') === '127.0.0.2,127.0.0.3', { tries: 60, everyMs: 250 })
})
