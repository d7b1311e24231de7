// docs/errors.md and the error codes declared in src/ stay in step, both ways.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { declaredErrors } from '../../src/core/errors.ts'

const root = new URL('../../', import.meta.url).pathname

test('every declared error code is documented, and every documented code is declared', async () => {
  // Loading each module's index declares its codes.
  for (const dir of await readdir(join(root, 'src'))) {
    const index = join(root, 'src', dir, 'index.ts')
    try { await readFile(index) } catch { continue }
    await import(index)
  }
  for (const extra of ['src/cli/errors.ts', 'src/cell/errors.ts']) await import(join(root, extra))
  const declared = new Set(declaredErrors().keys())
  const doc = await readFile(join(root, 'docs', 'errors.md'), 'utf8')
  const documented = new Set([...doc.matchAll(/^\| `?([A-Z][A-Z0-9_]+)`? \|/gm)].map((m) => m[1]))
  assert.ok(declared.size >= 10, `expected the modules to declare their codes, found ${declared.size}`)
  assert.deepEqual([...declared].filter((c) => !documented.has(c)).sort(), [], 'declared in src/ but missing from docs/errors.md')
  assert.deepEqual([...documented].filter((c) => !declared.has(c)).sort(), [], 'listed in docs/errors.md but declared nowhere in src/')
})

test('every declared code has a hint that says what to do', () => {
  for (const [code, spec] of declaredErrors()) assert.ok(spec.hint.length > 15, `${code} needs a real hint`)
})

test('isModuleError: a module\'s own codes only; a DOMException\'s numeric code is not one of them', async () => {
  const { isModuleError } = await import('../../src/core/errors.ts')
  const { peersError } = await import('../../src/peers/errors.ts')
  assert.equal(isModuleError(peersError('PEERS_NOT_MEMBER', 'x'), 'peers'), true)
  assert.equal(isModuleError(peersError('PEERS_NOT_MEMBER', 'x'), 'imprint'), false)
  // What AbortSignal.timeout() rejects with: a DOMException whose code is the number 23.
  const signal = AbortSignal.timeout(1)
  const timeout = await new Promise<unknown>((resolve) => { signal.addEventListener('abort', () => { resolve(signal.reason) }) })
  assert.equal(typeof (timeout as { code?: unknown }).code, 'number')
  assert.equal(isModuleError(timeout, 'peers'), false)
  assert.equal(isModuleError({ code: 'PEERS_NOT_MEMBER' }, 'peers'), false, 'a look-alike object is not ours')
})
