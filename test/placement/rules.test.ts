// Cell names on their own: exact ids and names, unique id parts, nothing looser.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveCell, nameOf } from '../../src/placement/index.ts'
import type { CellRef } from '../../src/placement/index.ts'

test('a cell is named by its exact id or name, or a unique id part of 6 or more characters; never loosely', () => {
  const cells: CellRef[] = [
    { peer: '12D3KooWAAAAAAxyz123', liveness: 'alive', name: 'alpha' },
    { peer: '12D3KooWBBBBBBxyz456', liveness: 'suspect', name: 'beta' },
    { peer: '12D3KooWCCCCCCqrs789', liveness: 'dead', name: 'gamma' }
  ]
  const peer = (to: string): string => { const r = resolveCell(cells, to); return r.ok ? r.peer : r.why }
  assert.equal(peer('alpha'), cells[0].peer)
  assert.equal(peer('beta'), cells[1].peer, 'a suspect is still a target')
  assert.equal(peer('gamma'), 'unknown-cell', 'a dead cell is not')
  assert.equal(peer('xyz456'), cells[1].peer)
  assert.equal(peer('12D3KooWA'), cells[0].peer)
  assert.equal(peer('12D3Ko'), 'unknown-cell', 'a prefix shared by two cells names neither')
  assert.equal(peer('12D'), 'unknown-cell', 'too short to be a name')
  assert.equal(peer(''), 'unknown-cell')
  assert.equal(nameOf(cells, cells[0].peer), 'alpha')
  assert.equal(nameOf(cells, 'nobody-known-here'), 'own-here', 'an unknown id: its last 8 characters')
})
