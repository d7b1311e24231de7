// Operator overrides: signed with a key of the genome's allowed_signers, checked against the exact request, once,
// recently. Real ssh-keygen both ways.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { signOverride, verifyOverride } from '../../src/genome/index.ts'
import type { OverrideRequest } from '../../src/genome/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'organism-override-test-'))
process.on('exit', () => { rmSync(dir, { recursive: true, force: true }) })
const key = (name: string): string => { const k = join(dir, name); execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', k]); return k }
const operator = key('operator')
const stranger = key('stranger')
const signers = `owner@campus.test ${readFileSync(`${operator}.pub`, 'utf8').trim()}\n`
const req: OverrideRequest = { organism: 'campus', kind: 'move', fn: 'forum', to: '12D3KooWTarget', force: false }
const refusedWith = (re: RegExp) => (err: unknown) => (err as { code?: string }).code === 'GENOME_OVERRIDE_REFUSED' && re.test((err as Error).message)

test('an override signed by an allowed key verifies once, for exactly its request', async () => {
  const seen = new Map<string, number>()
  const signed = await signOverride(operator, req)
  assert.equal(await verifyOverride(signers, signed, req, seen), 'owner@campus.test')
  await assert.rejects(verifyOverride(signers, signed, req, seen), refusedWith(/replay/))
  const other = await signOverride(operator, req)
  await assert.rejects(verifyOverride(signers, other, { ...req, to: '12D3KooWMallory' }, seen), refusedWith(/signed for to/))
  await assert.rejects(verifyOverride(signers, other, { ...req, force: true }, seen), refusedWith(/signed for force/))
})

test('a stranger\'s key, an edited payload, an old signature and no signature are refused', async () => {
  const seen = new Map<string, number>()
  await assert.rejects(verifyOverride(signers, await signOverride(stranger, req), req, seen), refusedWith(/not in the genome's allowed_signers/))
  const signed = await signOverride(operator, req)
  const edited = { ...signed, payload: signed.payload.replace('"force":false', '"force":false ') }
  await assert.rejects(verifyOverride(signers, edited, req, seen), refusedWith(/does not verify/))
  const old = await signOverride(operator, req, Date.now() - 6 * 60_000)
  await assert.rejects(verifyOverride(signers, old, req, seen), refusedWith(/5 minutes/))
  await assert.rejects(verifyOverride(signers, undefined, req, seen), refusedWith(/not signed/))
})

test('a key the genome lists for git only cannot sign overrides, and the refusal says how to allow it', async () => {
  const gitOnly = `owner@campus.test namespaces="git" ${readFileSync(`${operator}.pub`, 'utf8').trim()}\n`
  await assert.rejects(verifyOverride(gitOnly, await signOverride(operator, req), req, new Map()), refusedWith(/for git only: add organism-override to its namespaces/))
})

test('signing with a missing key says which key and what to do', async () => {
  await assert.rejects(signOverride(join(dir, 'no-such-key'), req), (err: unknown) => (err as { code?: string }).code === 'GENOME_OVERRIDE_UNSIGNED' && /no-such-key/.test((err as Error).message) && /--key/.test((err as { hint: string }).hint))
})
