// Placement decisions: routes and the local set follow owners, moves and liveness.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { placementPlan, genesisPlacements, reconcile } from '../../src/placement/index.ts'
import type { PlacementView, Liveness } from '../../src/placement/index.ts'

const fns = ['catalog', 'grades', 'media']
const byFn = (list: PlacementView[]): Map<string, PlacementView> => new Map(list.map((p) => [p.fn, p]))
const live = (states: Record<string, Liveness>) => (id: string): Liveness | 'unknown' => states[id] ?? 'unknown'

test('the genesis cell owns every function at epoch 1 and routes them locally', () => {
  const plan = placementPlan({ self: 'A', functions: fns, placements: byFn(genesisPlacements('A', fns)), liveness: live({ A: 'alive' }) })
  assert.deepEqual([...plan.local].sort(), fns)
  assert.deepEqual(plan.route('grades'), { kind: 'local', epoch: 1 })
})

test('a function owned by a live or suspect peer is forwarded; a dead owner gives 503', () => {
  const placements = byFn([
    { fn: 'catalog', owner: 'B', epoch: 2, state: 'serving', version: 1 },
    { fn: 'grades', owner: 'C', epoch: 1, state: 'serving', version: 1 },
    { fn: 'media', owner: 'D', epoch: 1, state: 'serving', version: 1 }
  ])
  const plan = placementPlan({ self: 'A', functions: fns, placements, liveness: live({ B: 'alive', C: 'suspect', D: 'dead' }) })
  assert.deepEqual(plan.route('catalog'), { kind: 'remote', cell: 'B' })
  assert.deepEqual(plan.route('grades'), { kind: 'remote', cell: 'C' })
  const media = plan.route('media')
  assert.equal(media.kind, 'unavailable')
  assert.match(media.kind === 'unavailable' ? media.reason : '', /dead/)
  assert.equal(plan.local.size, 0)
})

test('a moving function is unavailable everywhere, also at its owner, and is not run locally', () => {
  const placements = byFn([{ fn: 'catalog', owner: 'A', epoch: 3, state: 'moving', version: 1 }])
  const plan = placementPlan({ self: 'A', functions: ['catalog'], placements, liveness: live({ A: 'alive' }) })
  const r = plan.route('catalog')
  assert.equal(r.kind, 'unavailable')
  assert.equal(r.kind === 'unavailable' && r.retryAfterSeconds > 0, true)
  assert.equal(plan.local.has('catalog'), false)
})

test('unclaimed and unknown functions are unavailable with a reason', () => {
  const plan = placementPlan({ self: 'A', functions: ['catalog'], placements: new Map(), liveness: live({}) })
  assert.match(JSON.stringify(plan.route('catalog')), /no cell has claimed/)
  assert.match(JSON.stringify(plan.route('nosuch')), /not a function/)
})

test('reconcile starts what the plan adds and stops what it drops', () => {
  const plan = placementPlan({ self: 'A', functions: fns, placements: byFn([{ fn: 'catalog', owner: 'A', epoch: 1, state: 'serving', version: 1 }, { fn: 'grades', owner: 'B', epoch: 2, state: 'serving', version: 1 }]), liveness: live({ A: 'alive', B: 'alive' }) })
  assert.deepEqual(reconcile(new Set(['grades']), plan), { start: ['catalog'], stop: ['grades'] })
  assert.deepEqual(reconcile(new Set(['catalog']), plan), { start: [], stop: [] })
})
