// The ownership store of two real cells on this machine: alone a cell keeps a local file; when a second cell joins,
// the first runs etcd with mutual TLS and the second gets a certificate for its own key over the member link;
// both find the same store again after kill -9 of both; a client without the organism's certificate gets nothing.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TestOrganism } from '../helpers/organism.ts'
import { waitFor, leftoverProcesses } from '../helpers/cell-process.ts'
import { openEtcdStore, createStoreCa, createMemberKey, issueMemberCert, signedBy } from '../../src/ownership/index.ts'
import { isOrganismError } from '../../src/core/errors.ts'

const org = await TestOrganism.create()
after(() => org.destroy())

test('a cell alone keeps ownership in a local file; a second cell makes the first run etcd, and joins it with its own certificate', async () => {
  const alpha = await org.start('alpha', 1)
  assert.equal((await alpha.status()).store.kind, 'local')
  const beta = await org.start('beta', 2)
  await waitFor('both cells on the etcd store', async () => {
    const [a, b] = [await alpha.status(), await beta.status()]
    return a.store.kind === 'etcd' && b.store.kind === 'etcd' && a.store.role === 'holder' && b.store.role === 'client'
  }, { tries: 300 })
  const [a, b] = [await alpha.status(), await beta.status()]
  assert.deepEqual(b.store.endpoints, a.store.endpoints)
  assert.equal(b.store.holder, a.cell.id)
  assert.match(a.store.endpoints[0], /^https:\/\/127\.0\.0\.2:\d+$/, 'etcd is reached at the holder\'s advertised address, over TLS')
  const ca = await readFile(join(alpha.state, 'store', 'ca.crt'), 'utf8')
  assert.equal(signedBy(await readFile(join(beta.state, 'store', 'member.crt'), 'utf8'), ca), true, 'beta\'s certificate is signed by the organism\'s CA')
  await assert.rejects(readFile(join(beta.state, 'store', 'ca.key')), 'the CA key stays with the holder')
  // Beta's own key opens the store: the same one the holder writes to.
  const tls = { ca: Buffer.from(ca), cert: await readFile(join(beta.state, 'store', 'member.crt')), key: await readFile(join(beta.state, 'store', 'member.key')) }
  const s = await openEtcdStore({ endpoints: a.store.endpoints, organism: 'campus', tls })
  await s.apply('probe', { kind: 'found', by: b.cell.id })
  assert.equal((await s.get('probe'))?.owner, b.cell.id)
  await s.close()
})

test('a client without a certificate of the organism\'s CA cannot read or write the store', async () => {
  const endpoint = (await org.cells[0].status()).store.endpoints[0]
  const foreign = await createStoreCa('campus')
  const key = await createMemberKey()
  const cert = await issueMemberCert(foreign, { peerId: 'mallory', publicKey: key.publicKey, ips: ['127.0.0.9'] })
  const s = await openEtcdStore({ endpoints: [endpoint], organism: 'campus', tls: { ca: Buffer.from(foreign.cert), cert: Buffer.from(cert), key: Buffer.from(key.key) }, timeoutMs: 1000 })
  await assert.rejects(s.list(), (err: unknown) => isOrganismError(err, 'OWNERSHIP_UNAVAILABLE'))
  await s.close()
})

test('kill -9 of both cells, then both started again: they find the same store (the holder\'s etcd is adopted or restarted)', async () => {
  const [alpha, beta] = org.cells
  const endpoints = (await alpha.status()).store.endpoints
  for (const c of [alpha, beta]) { c.proc.child.kill('SIGKILL'); await c.proc.exited }
  await org.restart(alpha)
  await org.restart(beta)
  await waitFor('both cells back on the same etcd store', async () => {
    const [a, b] = [await alpha.status(), await beta.status()]
    return a.store.kind === 'etcd' && b.store.kind === 'etcd' && JSON.stringify(a.store.endpoints) === JSON.stringify(endpoints) && JSON.stringify(b.store.endpoints) === JSON.stringify(endpoints)
  }, { tries: 300 })
  const tls = { ca: await readFile(join(beta.state, 'store', 'ca.crt')), cert: await readFile(join(beta.state, 'store', 'member.crt')), key: await readFile(join(beta.state, 'store', 'member.key')) }
  const s = await openEtcdStore({ endpoints, organism: 'campus', tls })
  assert.equal((await s.get('probe'))?.epoch, 1, 'what was written before the kill is there')
  await s.close()
  assert.equal((await leftoverProcesses(org.dir)).get('etcd')?.length, 1, 'one etcd for the organism, not one per start')
})
