// docs/errors-router.md lists exactly the codes the router declares.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import '../../src/router/index.ts'
import { declaredErrors } from '../../src/core/errors.ts'

test('every router error code is documented, and nothing else', () => {
  const doc = readFileSync(new URL('../../docs/errors-router.md', import.meta.url), 'utf8')
  const documented = [...doc.matchAll(/^\| (ROUTER_[A-Z_]+) \|/gm)].map((m) => m[1]).sort()
  const declared = [...declaredErrors()].filter(([, s]) => s.module === 'router').map(([c]) => c).sort()
  assert.deepEqual(documented, declared)
})
