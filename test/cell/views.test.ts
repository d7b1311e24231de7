// The zone every cell answers, from the organism report: owner's address, every live cell's (genome `dns: all-cells`
// or a dead owner), and a serial that rises with every step of a move.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { zoneView } from '../../src/cell/views.ts'
import type { MemberReport, OrganismReport, PlacementReport } from '../../src/cell/views.ts'

const member = (id: string, address: string, liveness: MemberReport['liveness'] = 'alive'): MemberReport => ({
  id, name: `c-${id}`, liveness, self: id === 'a', address, routerPort: 80, functions: [], genome: null, load: { rps: 0, cpu: 0, memory: 0 }
})
const placement = (fn: string, owner: string, epoch = 1, state: PlacementReport['state'] = 'serving'): PlacementReport => ({ fn, owner, ownerName: `c-${owner}`, epoch, state })
const domains = new Map([['forum', 'forum.campus.test'], ['media', 'media.campus.test']])
const report = (members: MemberReport[], placements: PlacementReport[]): OrganismReport => ({ self: 'a', members, placements, events: [] })
const addressesOf = (r: OrganismReport, allCells = new Set<string>()): Record<string, string[]> =>
  Object.fromEntries(zoneView('campus.test', r, domains, allCells).functions.map((f) => [f.domain, [...f.addresses].sort()]))

test('a function resolves to its owner; with dns: all-cells to every live cell', () => {
  const r = report([member('a', '10.0.0.1'), member('b', '10.0.0.2'), member('c', '10.0.0.3', 'dead')], [placement('forum', 'b'), placement('media', 'b')])
  assert.deepEqual(addressesOf(r), { 'forum.campus.test': ['10.0.0.2'], 'media.campus.test': ['10.0.0.2'] })
  assert.deepEqual(addressesOf(r, new Set(['media'])), { 'forum.campus.test': ['10.0.0.2'], 'media.campus.test': ['10.0.0.1', '10.0.0.2'] }, 'never the dead cell')
})

test('a dead owner: its functions resolve to the live cells, which answer 503 with Retry-After', () => {
  const r = report([member('a', '10.0.0.1'), member('b', '10.0.0.2', 'dead'), member('c', '10.0.0.3')], [placement('forum', 'b')])
  assert.deepEqual(addressesOf(r), { 'forum.campus.test': ['10.0.0.1', '10.0.0.3'] })
})

test('the serial rises with every step of a move and is the same for the same placements', () => {
  const cells = [member('a', '10.0.0.1'), member('b', '10.0.0.2')]
  const serial = (ps: PlacementReport[]): number => zoneView('campus.test', report(cells, ps), domains).serial
  const serving = serial([placement('forum', 'a', 1), placement('media', 'a', 1)])
  const moving = serial([placement('forum', 'a', 1, 'moving'), placement('media', 'a', 1)])
  const moved = serial([placement('forum', 'b', 2), placement('media', 'a', 1)])
  assert.ok(serving < moving && moving < moved, `${serving} < ${moving} < ${moved}`)
  assert.equal(serial([placement('media', 'a', 1), placement('forum', 'b', 2)]), moved, 'order does not matter')
})
