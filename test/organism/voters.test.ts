// The ownership store keeps a majority: three cells make three voters, so the death of the first (the cell and its
// etcd, kill -9) leaves the store deciding: writes go on, and the dead cell's functions can be taken over.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TestOrganism } from '../helpers/organism.ts'
import { request, runCli, waitFor } from '../helpers/cell-process.ts'

const org = await TestOrganism.create()
after(() => org.destroy())

test('three cells: three voters; the first one killed -9 with its etcd, the other two keep the store', async (t) => {
  const alpha = await org.start('alpha', 1)
  const beta = await org.start('beta', 2)
  const gamma = await org.start('gamma', 3)
  await org.converged(3)
  assert.equal((await runCli(['move', 'media', '--to', 'gamma', '--state', alpha.state])).code, 0)
  await waitFor('three voters', async () => {
    const roles = await Promise.all([alpha, beta, gamma].map(async (c) => (await c.status()).store))
    return roles.filter((s) => s.role === 'holder' || s.role === 'voter').length === 3 && roles.every((s) => s.endpoints.length === 3)
  }, { tries: 200, everyMs: 250 })
  t.diagnostic(`voters: ${(await Promise.all([alpha, beta, gamma].map(async (c) => `${c.name}:${(await c.status()).store.role}`))).join(' ')}`)

  const etcd = JSON.parse(await readFile(join(alpha.state, 'store', 'etcd.pid'), 'utf8')) as { pid: number }
  alpha.proc.child.kill('SIGKILL')
  process.kill(etcd.pid, 'SIGKILL')
  const killedAt = Date.now()
  const port = (await gamma.status()).router.port
  // Past the lease TTL: gamma would refuse writes now if it had lost the store.
  await new Promise((r) => setTimeout(r, 4000))
  // media needs no other function: a write it accepts shows gamma still holds its lease in the store.
  const put = await request(port, 'media.campus.test', '/files/after.txt', { method: 'PUT', body: 'after the first voter died', headers: { 'content-type': 'text/plain' }, address: gamma.address })
  assert.ok(put.status >= 200 && put.status < 300, `the store still decides: ${put.status} ${put.body}`)
  // alpha's functions: its lease has expired in the store, so an operator can take one over.
  await waitFor('beta sees alpha dead', async () => (await beta.status()).members.find((m) => m.name === 'alpha')?.liveness === 'dead', { tries: 100, everyMs: 200 })
  // cell status says why alpha's functions answer 503 here, in --json and in words.
  assert.match((await beta.status()).functions.find((f) => f.name === 'people')?.unavailable ?? '', /dead/)
  assert.match((await runCli(['status', '--state', beta.state])).stdout, /people: answers 503 here: the cell that owns people is dead/)
  // The store lets it once alpha's lease has expired there: its TTL after the last renewal (a new etcd leader
  // renews every lease once, so that the old leader's death does not expire them early).
  let last = ''
  await waitFor('a takeover of catalog is accepted', async () => {
    const taken = await runCli(['move', 'catalog', '--to', 'beta', '--force', '--state', beta.state])
    last = taken.stderr
    return taken.code === 0
  }, { tries: 40, everyMs: 500 }).catch((err: Error) => { throw new Error(`${err.message}: ${last}`) })
  t.diagnostic(`catalog taken over ${((Date.now() - killedAt) / 1000).toFixed(1)} s after alpha was killed`)
  const s = await beta.status()
  assert.equal(s.placements.find((p) => p.fn === 'catalog')?.ownerName, 'beta')
})
