// The control plane's rules on their own: hand-off, arrival, restore, takeover and cell names.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { handoff, arrival, takeover, restoreAfterFailedHandoff, resolveCell, nameOf } from '../../src/placement/index.ts'
import type { PlacementView, CellRef } from '../../src/placement/index.ts'

const at = (owner: string, epoch: number, state: PlacementView['state'] = 'serving'): PlacementView => ({ fn: 'forum', owner, epoch, state, version: 1 })
const fns = ['forum', 'wiki']

test('only the owner hands off, at its own epoch, and never to itself', () => {
  assert.deepEqual(handoff(at('A', 3), 'A', 'forum', 'B'), { ok: true, claim: { state: 'moving', to: 'B', epoch: 3 } })
  assert.equal(handoff(at('B', 3), 'A', 'forum', 'C').ok, false)
  assert.equal(handoff(undefined, 'A', 'forum', 'C').ok, false)
  assert.equal(handoff({ ...at('A', 3, 'moving'), to: 'B' }, 'A', 'forum', 'C').ok, false, 'a function handed off already is not handed off again (the seed that found it: 3458290)')
  const self = handoff(at('A', 3), 'A', 'forum', 'A')
  assert.equal(self.ok === false && self.why, 'unknown-cell')
})

test('an arrival takes the sender\'s epoch + 1, and is refused when the header lies or is stale', () => {
  assert.deepEqual(arrival(at('A', 3), { fn: 'forum', epoch: 3, from: 'A' }, 'A', fns), { ok: true, epoch: 4 })
  // A receiver that has not heard of the sender's epoch yet cannot check it: it trusts the owner's header.
  assert.deepEqual(arrival(at('X', 1), { fn: 'forum', epoch: 3, from: 'A' }, 'A', fns), { ok: true, epoch: 4 })
  const why = (r: ReturnType<typeof arrival>): string => r.ok ? 'ok' : r.why
  assert.equal(why(arrival(at('A', 3), { fn: 'forum', epoch: 3, from: 'A' }, 'M', fns)), 'protocol', 'the header names another sender')
  assert.equal(why(arrival(at('A', 3), { fn: 'nosuch', epoch: 3, from: 'A' }, 'A', fns)), 'protocol')
  assert.equal(why(arrival(at('A', 3), { fn: 'forum', epoch: 2 ** 53, from: 'A' }, 'A', fns)), 'protocol', 'no epoch past the safe integers')
  assert.equal(why(arrival(at('B', 5), { fn: 'forum', epoch: 3, from: 'A' }, 'A', fns)), 'stale')
  assert.equal(why(arrival(at('B', 3), { fn: 'forum', epoch: 3, from: 'M' }, 'M', fns)), 'not-owner', 'a member that is not the owner at that epoch')
})

test('after a failed hand-off the owner serves again: at its epoch if refused, past the receiver\'s possible claim if unknown', () => {
  assert.deepEqual(restoreAfterFailedHandoff(3, 'refused'), { state: 'serving', epoch: 3 })
  const r = restoreAfterFailedHandoff(3, 'unknown')
  const receiverMayHold = arrival(at('A', 3), { fn: 'forum', epoch: 3, from: 'A' }, 'A', fns)
  assert.ok(receiverMayHold.ok && r.epoch > receiverMayHold.epoch, 'the owner\'s restored epoch beats the receiver\'s possible one')
})

test('a takeover needs a dead owner and takes the next epoch', () => {
  assert.deepEqual(takeover(at('A', 2), 'forum', 'dead'), { ok: true, epoch: 3 })
  assert.equal(takeover(at('A', 2), 'forum', 'suspect').ok, false, 'suspicion is not death')
  assert.equal(takeover(at('A', 2), 'forum', 'unknown').ok, false)
  assert.equal(takeover(undefined, 'forum', 'dead').ok, false)
})

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
