// The store with mutual TLS: a member's certificate from the organism's CA gets in; no certificate, or one from
// another authority, gets nothing; a member's key never leaves it (the CA signs its public key).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStoreCa, createMemberKey, issueMemberCert, signedBy, openEtcdStore } from '../../src/ownership/index.ts'
import { isOrganismError } from '../../src/core/errors.ts'
import { oneEtcd } from './helpers.ts'

const dir = await mkdtemp(join(tmpdir(), 'organism-store-tls-'))
const ca = await createStoreCa('campus')
const server = await createMemberKey()
const serverCert = await issueMemberCert(ca, { peerId: 'holder', publicKey: server.publicKey, ips: ['127.0.0.1'] })
await writeFile(join(dir, 'ca.crt'), ca.cert)
await writeFile(join(dir, 'holder.crt'), serverCert)
await writeFile(join(dir, 'holder.key'), server.key, { mode: 0o600 })
const asClient = (cert: string, key: string) => ({ ca: Buffer.from(ca.cert), cert: Buffer.from(cert), key: Buffer.from(key) })
const { etcd, endpoint } = await oneEtcd(dir, 'tls', {
  files: { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'holder.crt'), keyFile: join(dir, 'holder.key') },
  client: asClient(serverCert, server.key)
})
after(async () => { await etcd.stop(); await rm(dir, { recursive: true, force: true }) })

test('a member with a certificate signed by the organism\'s CA reads and writes the store', async () => {
  const member = await createMemberKey()
  const cert = await issueMemberCert(ca, { peerId: 'member', publicKey: member.publicKey, ips: [] })
  assert.equal(signedBy(cert, ca.cert), true)
  assert.ok(!cert.includes('PRIVATE KEY'), 'the certificate carries no key')
  const s = await openEtcdStore({ endpoints: [endpoint], organism: 'campus', tls: asClient(cert, member.key) })
  assert.equal((await s.apply('forum', { kind: 'found', by: 'member' })).epoch, 1)
  await s.close()
})

test('a client with a certificate from another authority, or none, gets nothing from the store', async () => {
  const evilCa = await createStoreCa('campus')
  const evil = await createMemberKey()
  const evilCert = await issueMemberCert(evilCa, { peerId: 'mallory', publicKey: evil.publicKey, ips: [] })
  assert.equal(signedBy(evilCert, ca.cert), false)
  for (const [what, tls] of [['a foreign CA', { ca: Buffer.from(ca.cert), cert: Buffer.from(evilCert), key: Buffer.from(evil.key) }]] as const) {
    const s = await openEtcdStore({ endpoints: [endpoint], organism: 'campus', tls, timeoutMs: 1000 })
    await assert.rejects(s.apply('forum', { kind: 'found', by: 'mallory' }), (err: unknown) => isOrganismError(err, 'OWNERSHIP_UNAVAILABLE'), what)
    await s.close()
  }
  const plain = await openEtcdStore({ endpoints: [endpoint.replace('https:', 'http:')], organism: 'campus', timeoutMs: 1000 })
  await assert.rejects(plain.list(), (err: unknown) => isOrganismError(err, 'OWNERSHIP_UNAVAILABLE'), 'no TLS at all')
  await plain.close()
})
