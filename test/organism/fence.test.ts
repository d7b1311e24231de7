// Fencing: an owner that cannot reach the ownership store stops accepting writes once its lease has lapsed (another
// cell could take over by then), keeps serving reads, and takes writes again when the store is back.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TestOrganism } from '../helpers/organism.ts'
import { request, runCli, waitFor } from '../helpers/cell-process.ts'

const org = await TestOrganism.create()
after(() => org.destroy())

test('the store gone: the owner answers writes 503 once its lease lapsed, reads 200; with the store back, writes again', async (t) => {
  const alpha = await org.start('alpha', 1)
  const beta = await org.start('beta', 2)
  await org.converged(2)
  assert.equal((await runCli(['move', 'forum', '--to', 'beta', '--state', alpha.state])).code, 0)
  const port = (await beta.status()).router.port
  const post = async (text: string): Promise<{ status: number, body: string }> =>
    await request(port, 'forum.campus.test', '/courses/cs101/posts', { method: 'POST', body: JSON.stringify({ author: 'ada', text }), address: beta.address })
  assert.equal((await post('with the store')).status, 201)

  // The store's only voter goes: the cell and the etcd it runs, both killed -9.
  const etcd = JSON.parse(await readFile(join(alpha.state, 'store', 'etcd.pid'), 'utf8')) as { pid: number }
  alpha.proc.child.kill('SIGKILL')
  process.kill(etcd.pid, 'SIGKILL')
  const cut = Date.now()
  const refused = await waitFor('beta refuses writes', async () => { const r = await post('without the store'); return r.status === 503 ? r : null }, { tries: 100, everyMs: 200 })
  t.diagnostic(`writes refused ${((Date.now() - cut) / 1000).toFixed(1)} s after the store went (lease TTL 3 s)`)
  assert.match(refused.body, /lease/)
  const read = await request(port, 'forum.campus.test', '/courses/cs101/posts', { address: beta.address })
  assert.equal(read.status, 200, 'reads are still served')
  assert.ok(read.body.includes('with the store'))
  assert.ok(!read.body.includes('without the store'), 'the refused write was not applied')
  // Status says so plainly, and nothing was taken over (beta holds catalog's replica, but no store can agree).
  assert.match((await runCli(['status', '--state', beta.state])).stdout, /cannot reach a majority of the ownership store's voters/)
  await new Promise((r) => setTimeout(r, 2000))
  assert.equal((await beta.status()).placements.find((p) => p.fn === 'catalog')?.ownerName, 'alpha', 'no takeover without the store')

  await alpha.proc.exited
  await org.restart(alpha)
  await waitFor('beta takes writes again', async () => (await post('store back')).status === 201, { tries: 150, everyMs: 200 })
})
