// Pure parts: allowed_signers lines, the key inside an SSH signature, sizes and durations, did-you-mean.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gitSignerFor, parseAllowedSigners, sshSignatureKey } from '../../src/genome/signers.ts'
import { DURATION_UNITS, parseQuantity, SIZE_UNITS } from '../../src/genome/units.ts'
import { suggest } from '../../src/genome/suggest.ts'

test('allowed_signers: principals, quoted options, namespaces, cert-authority, comments; fingerprints match ssh-keygen', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'genome-signers-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'k', '-f', join(dir, 'k')])
  const pub = (await readFile(join(dir, 'k.pub'), 'utf8')).trim()
  const fp = execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1]
  const entries = parseAllowedSigners([
    '# comment',
    '',
    `a@x,b@x namespaces="git,file",valid-after="20200101" ${pub}`,
    `c@x namespaces="file" ${pub}`,
    `d@x cert-authority ${pub}`,
    `e@x ${pub}`,
    'garbage line'
  ].join('\n'))
  assert.deepEqual(entries.map(e => [e.principals, e.namespaces, e.certAuthority, e.line]), [
    [['a@x', 'b@x'], ['git', 'file'], false, 3],
    [['c@x'], ['file'], false, 4],
    [['d@x'], null, true, 5],
    [['e@x'], null, false, 6]
  ])
  assert.ok(entries.every(e => e.fingerprint === fp))
  assert.deepEqual(gitSignerFor(entries, fp)?.principals, ['a@x', 'b@x'])
  assert.deepEqual(gitSignerFor(entries.slice(1), fp)?.principals, ['e@x'], 'file-only and cert-authority entries do not sign commits')
  assert.equal(gitSignerFor(entries.slice(1, 3), fp), null)

  // The key inside a real SSH signature is the signer's.
  await writeFile(join(dir, 'msg'), 'hello')
  execFileSync('ssh-keygen', ['-Y', 'sign', '-n', 'git', '-f', join(dir, 'k'), join(dir, 'msg')], { stdio: 'ignore' })
  assert.equal(sshSignatureKey(await readFile(join(dir, 'msg.sig'), 'utf8')), fp)
  assert.equal(sshSignatureKey('-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----'), null)
})

test('sizes and durations', () => {
  assert.deepEqual(parseQuantity('1GB', SIZE_UNITS), { ok: true, value: 1e9 })
  assert.deepEqual(parseQuantity('1.5 KiB', SIZE_UNITS), { ok: true, value: 1536 })
  assert.deepEqual(parseQuantity('512Mb', SIZE_UNITS), { ok: false, reason: 'unit', unit: 'Mb' })
  assert.deepEqual(parseQuantity('lots', SIZE_UNITS), { ok: false, reason: 'syntax' })
  assert.deepEqual(parseQuantity('250ms', DURATION_UNITS), { ok: true, value: 250 })
  assert.deepEqual(parseQuantity('2h', DURATION_UNITS), { ok: true, value: 7_200_000 })
})

test('did-you-mean picks the closest name and stays quiet when nothing is close', () => {
  const fields = ['code', 'setup', 'start', 'port', 'health', 'stateful', 'domain', 'path', 'env']
  assert.equal(suggest('prot', fields), 'port')
  assert.equal(suggest('helth', fields), 'health')
  assert.equal(suggest('Domian', fields), 'domain')
  assert.equal(suggest('replicas', fields), null)
  assert.equal(suggest('xyz', ['env']), null)
})
