// docs/errors-genome.md lists exactly the codes src/genome declares.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { declaredErrors } from '../../src/core/errors.ts'
import '../../src/genome/index.ts'

test('every genome error code is documented, and only those', async () => {
  const doc = await readFile(new URL('../../docs/errors-genome.md', import.meta.url), 'utf8')
  const documented = [...doc.matchAll(/^\| (GENOME_[A-Z_]+) \|/gm)].map(m => m[1]).sort()
  const declared = [...declaredErrors()].filter(([, s]) => s.module === 'genome').map(([code]) => code).sort()
  assert.deepEqual(documented, declared)
})
