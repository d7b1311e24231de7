// Where a stateless function's instances run: every cell picks the same ones from the same live cells, few change
// when a cell comes or goes, and a cell no longer chosen keeps serving until the chosen ones do.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { instanceCells, instanceCount, spreadDecision, placementPlan, reconcile, growAsk, nextAsk } from '../../src/placement/index.ts'

const cells = (n: number): string[] => Array.from({ length: n }, (_, i) => `cell-${i}`)

test('the same cells are chosen whatever order a cell lists them in, and as many as asked (or all there are)', () => {
  const all = cells(7)
  const chosen = instanceCells('web', all, 3)
  assert.equal(chosen.length, 3)
  assert.deepEqual(instanceCells('web', [...all].reverse(), 3), chosen)
  assert.deepEqual(instanceCells('web', [...all, all[0]], 3), chosen, 'a cell listed twice is one cell')
  assert.equal(instanceCells('web', cells(2), 3).length, 2)
  assert.deepEqual(instanceCells('web', all, 0), [])
  assert.notDeepEqual(instanceCells('api', all, 3), chosen, 'another function lands elsewhere (over 35 choices, the same 3 would be a fluke)')
})

test('a cell joining moves at most one instance; a cell dying moves only its own', () => {
  let moved = 0
  for (let i = 0; i < 50; i++) {
    const fn = `fn-${i}`
    const before = instanceCells(fn, cells(6), 3)
    const after = instanceCells(fn, cells(7), 3)
    const changed = after.filter((c) => !before.includes(c)).length
    assert.ok(changed <= 1, `${fn}: ${changed} instances moved when one cell joined`)
    moved += changed
    const gone = before[0]
    const survivors = instanceCells(fn, cells(6).filter((c) => c !== gone), 3)
    assert.deepEqual(survivors.filter((c) => before.includes(c)).sort(), before.filter((c) => c !== gone).sort(), `${fn}: the living instances stay`)
  }
  // Each of 50 functions moves one of its 3 instances to the newcomer with probability 3/7.
  assert.ok(moved > 5 && moved < 40, `${moved} of 50 functions gave the newcomer an instance`)
})

test('a cell no longer chosen keeps its instance until every chosen cell serves, then lets it go', () => {
  const all = cells(4)
  const chosen = instanceCells('web', all, 2)
  const outsider = all.find((c) => !chosen.includes(c)) as string
  const serving = new Set([outsider])
  const decide = (): ReturnType<typeof spreadDecision> => spreadDecision({ self: outsider, fn: 'web', count: 2, cells: all, serves: (c) => serving.has(c) })
  assert.equal(decide().run, true, 'the chosen cells serve nothing yet: the old instance stays')
  serving.add(chosen[0])
  assert.equal(decide().run, true, 'one chosen cell of two serves')
  assert.deepEqual(decide().serving, [chosen[0]], 'requests may go to the chosen one that serves')
  serving.add(chosen[1])
  assert.equal(decide().run, false, 'both serve: the outsider stops')
  assert.equal(spreadDecision({ self: outsider, fn: 'web', count: 2, cells: all, serves: (c) => c !== outsider && serving.has(c) }).run, false, 'a cell that never ran it does not start it')
})

test('the plan runs a spread function where it is chosen, routes it to the cells serving it, and never hands it off', () => {
  const all = cells(3)
  const chosen = instanceCells('web', all, 2)
  const plan = (self: string) => placementPlan({
    self, functions: ['catalog'], placements: new Map([['catalog', { fn: 'catalog', owner: 'cell-0', epoch: 1, state: 'serving' as const, version: 1 }]]),
    liveness: () => 'alive', spread: [{ fn: 'web', count: 2 }], cells: all, serves: (c, fn) => fn === 'web' && chosen.includes(c)
  })
  for (const self of all) {
    const p = plan(self)
    assert.equal(p.local.has('web'), chosen.includes(self), `${self} runs web only when chosen`)
    assert.equal(p.owned.has('web'), false, 'an instance is nobody\'s to hand off')
    assert.deepEqual(p.route('web'), { kind: 'spread', local: chosen.includes(self), cells: all.filter((c) => c !== self && chosen.includes(c)) })
  }
  const founder = plan('cell-0')
  assert.equal(founder.owned.has('catalog'), true)
  assert.deepEqual(reconcile(new Set(), founder).start.sort(), chosen.includes('cell-0') ? ['catalog', 'web'] : ['catalog'])
})

test('the count is the largest ask of a live cell within the genome\'s bounds; an ask grows by one and shrinks after quiet', () => {
  assert.equal(instanceCount(2, 5, []), 2)
  assert.equal(instanceCount(2, 5, [0, 3, 4]), 4)
  assert.equal(instanceCount(2, 5, [40]), 5, 'a member asking for more than the genome allows gets the most')
  assert.deepEqual(growAsk(undefined, 2, 5), { count: 3, quietSince: null })
  assert.deepEqual(growAsk({ count: 5, quietSince: 1 }, 5, 5), { count: 5, quietSince: null })
  const quiet = { min: 2, scaleInAfterMs: 600_000, current: 3, rpsLimit: 200 }
  let ask = nextAsk({ count: 3, quietSince: null }, { ...quiet, now: 0, totalRps: 150 })
  assert.deepEqual(ask, { count: 3, quietSince: 0 }, '150 req/s over 2 instances is under half the limit: quiet from now')
  ask = nextAsk(ask, { ...quiet, now: 599_999, totalRps: 150 })
  assert.equal(ask?.count, 3, 'not before the quiet period')
  assert.deepEqual(nextAsk(ask, { ...quiet, now: 300_000, totalRps: 250 }), { count: 3, quietSince: null }, 'load back: the period starts again')
  assert.equal(nextAsk(ask, { ...quiet, now: 600_000, totalRps: 150 }), undefined, 'back to the minimum: no ask left')
  assert.deepEqual(nextAsk({ count: 4, quietSince: 0 }, { ...quiet, current: 4, now: 600_000, totalRps: 10 }), { count: 3, quietSince: 600_000 }, 'one instance at a time')
  assert.deepEqual(nextAsk({ count: 3, quietSince: 0 }, { ...quiet, rpsLimit: null, now: 600_000, totalRps: 1 }), { count: 3, quietSince: null }, 'no requests/s limit: quiet only without requests')
})
