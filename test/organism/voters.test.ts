// The ownership store keeps a majority: three cells make three voters, so the death of the first (the cell and its
// etcd, kill -9) leaves the store deciding: writes go on, and the dead cell's functions are taken over by the cells
// holding their replicas, by themselves, with every acknowledged write.
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
  // Posts written through gamma (forwarded to forum's owner, alpha) before the kill: each 201 is on a replica.
  const written: string[] = []
  await waitFor('forum has a replica', async () => (await gamma.status()).placements.find((p) => p.fn === 'forum')?.replicaName != null, { tries: 100, everyMs: 100 })
  const gport = (await gamma.status()).router.port
  for (let i = 0; i < 10; i++) {
    const text = `acknowledged post ${i}`
    const r = await request(gport, 'forum.campus.test', '/courses/cs101/posts', { method: 'POST', body: JSON.stringify({ author: 'ada', text }), address: gamma.address })
    assert.equal(r.status, 201, r.body)
    written.push(text)
  }
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
  // alpha's functions are taken over by the cells holding their replicas, with no command typed, with their data.
  await waitFor('every function served through beta and gamma again', async () => {
    for (const c of [beta, gamma]) {
      const p = (await c.status()).router.port
      for (const [fn, path] of [['catalog', '/courses'], ['people', '/people'], ['forum', '/courses/cs101/posts']]) {
        if ((await request(p, `${fn}.campus.test`, path, { address: c.address })).status !== 200) return false
      }
    }
    return true
  }, { tries: 150, everyMs: 100 })
  t.diagnostic(`alpha's functions served again through beta and gamma ${((Date.now() - killedAt) / 1000).toFixed(1)} s after alpha was killed`)
  const s = await beta.status()
  for (const fn of ['catalog', 'people', 'forum']) {
    const p = s.placements.find((x) => x.fn === fn)
    assert.ok(p != null && p.ownerName !== 'alpha' && p.epoch >= 2, `${fn} has a new owner: ${JSON.stringify(p)}`)
  }
  const posts = await request(s.router.port, 'forum.campus.test', '/courses/cs101/posts', { address: beta.address })
  for (const text of written) assert.ok(posts.body.includes(text), `the acknowledged post "${text}" is served: ${posts.body}`)
})
