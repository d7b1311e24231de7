// The immune system's decisions: which functions restart for a changed path, and which peers run files that are
// not their commit's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { affectedFunctions, mismatchedPeers } from '../../src/cell/immune.ts'
import type { FunctionSpec } from '../../src/genome/types.ts'
import type { CellView } from '../../src/state/index.ts'

const fn = (name: string, code = `functions/${name}`): FunctionSpec => ({ name, code } as unknown as FunctionSpec)
const fns = [fn('catalog'), fn('grades'), fn('cat', 'functions/cat')]

test('a file under a function\'s code restarts that function; a shared file restarts every one', () => {
  assert.deepEqual(affectedFunctions(fns, ['functions/catalog/server.mjs']), ['catalog'], 'functions/cat is not a prefix of functions/catalog')
  assert.deepEqual(affectedFunctions(fns, ['functions/grades/a.js', 'functions/cat/b.js']), ['grades', 'cat'])
  assert.deepEqual(affectedFunctions(fns, ['functions/lib/service.mjs']), ['catalog', 'grades', 'cat'])
  assert.deepEqual(affectedFunctions(fns, []), [])
})

test('a peer whose digest is not its commit\'s tree is named; unknown commits, no digest and the dead are not judged', () => {
  const cell = (peer: string, genome: string, tree: string | undefined, liveness: CellView['liveness'] = 'alive'): CellView =>
    ({ peer, liveness, incarnation: 1, record: { body: { genome, ...tree != null ? { tree } : {} } } } as unknown as CellView)
  const expected = (commit: string): string | null => commit === 'c1' ? 't1' : null
  const bad = mismatchedPeers([
    cell('self', 'c1', 'evil'), cell('good', 'c1', 't1'), cell('liar', 'c1', 'evil'), cell('other-commit', 'c2', 'x'),
    cell('old-software', 'c1', undefined), cell('dead', 'c1', 'evil', 'dead')
  ], 'self', expected)
  assert.deepEqual([...bad.keys()], ['liar'])
  assert.match(bad.get('liar') ?? '', /tree evil, commit c1 has t1/)
})

test('a peer that published a digest and stops is named; one that never did (older software) is not', () => {
  const cell = (peer: string, tree: string | undefined): CellView =>
    ({ peer, liveness: 'alive', incarnation: 1, record: { body: { genome: 'c1', ...tree != null ? { tree } : {} } } } as unknown as CellView)
  const expected = (): string => 't1'
  const bad = mismatchedPeers([cell('stopped', undefined), cell('never', undefined), cell('good', 't1')], 'self', expected, new Set(['stopped', 'good']))
  assert.deepEqual([...bad.keys()], ['stopped'])
  assert.match(bad.get('stopped') ?? '', /stopped publishing the digest/)
})
