// docs/errors-supervisor.md lists exactly the codes the supervisor declares.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { declaredErrors } from '../../src/core/errors.ts'
import '../../src/supervisor/index.ts'

test('every supervisor error code is documented, and no other', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'errors-supervisor.md'), 'utf8')
  const documented = [...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]).sort()
  const declared = [...declaredErrors()].filter(([, s]) => s.module === 'supervisor').map(([c]) => c).sort()
  assert.deepEqual(documented, declared)
})
