// Which following cell rolls a pushed commit out first: the live members by id, one turn each.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { turnOf } from '../../src/cell/follow.ts'

test('each cell has its own turn by id, the same on every cell, and a cell alone goes at once', () => {
  const live = ['c', 'a', 'b']
  assert.deepEqual(['a', 'b', 'c'].map((self) => turnOf(self, live)), [0, 1, 2])
  assert.equal(turnOf('z', []), 0)
  assert.equal(turnOf('b', ['a', 'c']), 1, 'this cell counts even when its own view lists it not')
})
