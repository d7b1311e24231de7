// The zone every cell answers, from the organism report: owner's address, every live cell's (genome `dns: all-cells`
// or a dead owner), and a serial that rises with every step of a move. The live map's per-function traffic, and the
// record that carries it to the other cells.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dashboardView, zoneView } from '../../src/cell/views.ts'
import { buildZone, cellNameProblem, placementRecords } from '../../src/dns/index.ts'
import { firstMemory, nextRecord } from '../../src/cell/own-record.ts'
import { asRecord } from '../../src/state/record.ts'
import type { MemberReport, OrganismReport, PlacementReport } from '../../src/cell/views.ts'

const member = (id: string, address: string, liveness: MemberReport['liveness'] = 'alive'): MemberReport => ({
  id, name: `c-${id}`, liveness, self: id === 'a', address, routerPort: 80, functions: [], genome: null, load: { rps: 0, cpu: 0, memory: 0 }, traffic: {}
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

test('the live map shows a function another cell runs with the traffic that cell published', () => {
  const b = { ...member('b', '10.0.0.2'), traffic: { forum: { rps: 42.5, p99: 7.1 } } }
  const r = report([member('a', '10.0.0.1'), b], [placement('forum', 'b'), placement('media', 'a')])
  const view = dashboardView('campus', 'campus.test', r, domains, (fn) => fn === 'media' ? { state: 'running', requestsPerSecond: 3, p99Ms: 2 } : null, 0)
  const fn = (cell: string, name: string) => view.cells.find((c) => c.id === cell)?.functions.find((f) => f.name === name)
  assert.deepEqual([fn('b', 'forum')?.requestsPerSecond, fn('b', 'forum')?.p99Ms], [42.5, 7.1], 'as b published it')
  assert.deepEqual([fn('a', 'media')?.requestsPerSecond, fn('a', 'media')?.p99Ms], [3, 2], 'measured here')
})

test('the live map\'s arrows: moves of the last minute, a move under way, and what this cell forwards (only with traffic)', () => {
  const r = report([member('a', '10.0.0.1'), member('b', '10.0.0.2'), member('c', '10.0.0.3')], [
    { ...placement('forum', 'b', 1, 'moving'), to: 'c' }, placement('media', 'b'), placement('quiz', 'c'), placement('notes', 'a')
  ])
  const view = dashboardView('campus', 'campus.test', r, domains, () => null, 1000, {
    moves: [{ fn: 'grades', from: 'c', to: 'b', at: 400 }],
    received: (fn) => ({ media: 12.5, notes: 99 } as Record<string, number>)[fn] ?? 0
  })
  assert.deepEqual(view.flows, [
    { kind: 'move', fn: 'grades', from: 'c', to: 'b', at: 400 },
    { kind: 'moving', fn: 'forum', from: 'b', to: 'c', at: 1000 },
    { kind: 'forward', fn: 'media', from: 'a', to: 'b', at: 1000, requestsPerSecond: 12.5 }
  ], 'quiz has no traffic here, notes is served here: neither is a forward')
})

test('a cell\'s record carries each running function\'s requests/s and p99, and their sum as its load', () => {
  const figures: Record<string, { requestsPerSecond: number, p99Ms: number }> = { forum: { requestsPerSecond: 12.34, p99Ms: 8.06 }, media: { requestsPerSecond: 0.26, p99Ms: 1 } }
  const { body } = nextRecord(firstMemory(0), {
    name: 'a', genome: 'abc', software: '0.1.0', addrs: { peer: [] },
    functions: [{ name: 'forum', state: 'running', cpuSeconds: 0, memoryBytes: 0 }, { name: 'media', state: 'running', cpuSeconds: 0, memoryBytes: 0 }, { name: 'grades', state: 'stopped', cpuSeconds: 0, memoryBytes: 0 }],
    traffic: (fn) => figures[fn] ?? { requestsPerSecond: 99, p99Ms: 99 }
  }, 1000)
  assert.deepEqual(body?.traffic, { forum: { rps: 12.3, p99: 8.1 }, media: { rps: 0.3, p99: 1 } }, 'running functions only, rounded')
  assert.equal(body?.load.rps, 12.6)
})

test('a record whose traffic is not figures, or names more than 256 functions, is not a record', () => {
  const cell = (traffic: unknown) => asRecord({ key: 'cell/w', writer: 'w', version: 1, sig: 's', body: { kind: 'cell', name: 'a', addrs: { peer: [] }, load: { rps: 0, cpu: 0, memory: 0 }, functions: [], software: '1', genome: 'g', incarnation: 0, traffic } })
  assert.ok(cell(undefined) != null, 'no traffic (an older cell) is fine')
  assert.ok(cell({ forum: { rps: 1, p99: 2 } }) != null)
  assert.equal(cell({ forum: { rps: 'lots', p99: 2 } }), undefined)
  assert.equal(cell({ forum: { rps: -1, p99: 2 } }), undefined)
  assert.equal(cell(Object.fromEntries(Array.from({ length: 257 }, (_x, i) => [`f${i}`, { rps: 0, p99: 0 }]))), undefined)
})

test('names are names: a member named ".", "a.b", like a function, or like another member first stays out of the zone', () => {
  const named = (id: string, name: string, address: string): MemberReport => ({ ...member(id, address), name })
  const r = report([named('a', 'h1', '10.0.0.1'), named('b', '.', '10.0.0.2'), named('c', 'forum', '10.0.0.3'), named('d', 'h1', '10.0.0.4'),
    named('e', 'x.campus', '10.0.0.5'), named('f', 'h2', '10.0.0.6')], [placement('forum', 'a'), placement('media', 'b')])
  const view = zoneView('campus.test', r, domains)
  assert.deepEqual(view.cells.map((c) => c.name), ['h1', 'h2'])
  assert.equal(view.cells.find((c) => c.name === 'h1')?.id, 'a', 'the lower id keeps a name two claim')
  assert.deepEqual(view.nameservers.map((n) => n.name).sort(), ['h1.campus.test', 'h2.campus.test'])
  const zone = buildZone(view)
  assert.deepEqual(zone.byName.get('forum.campus.test')?.map((rr) => 'data' in rr ? rr.data : null), ['10.0.0.1'], 'forum is the function, not the cell named forum')
  // A badly named member still serves: the function it owns resolves to it.
  assert.deepEqual(zone.byName.get('media.campus.test')?.map((rr) => 'data' in rr ? rr.data : null), ['10.0.0.2'])
  for (const name of zone.byName.keys()) assert.ok(name === 'campus.test' || name.endsWith('.campus.test'), name)
})

test('the records pushed to a primary never touch the apex, even for a function served there', () => {
  const r = report([member('a', '10.0.0.1')], [placement('home', 'a')])
  const view = zoneView('campus.test', r, new Map([['home', 'campus.test']]))
  assert.equal(placementRecords(view).some((rr) => rr.name === 'campus.test'), false)
  assert.deepEqual(buildZone(view).byName.get('campus.test')?.filter((rr) => rr.type === 'A').map((rr) => 'data' in rr ? rr.data : null), ['10.0.0.1'], 'answered here')
})

test('cellNameProblem: one label, not a function\'s host', () => {
  for (const bad of ['', '.', 'a.b', 'A', '-a', 'a-', 'a_b', 'x'.repeat(64), 'h1.']) assert.notEqual(cellNameProblem(bad, 'campus.test', []), null, bad)
  assert.match(cellNameProblem('forum', 'campus.test', ['forum.campus.test']) ?? '', /host of function domain forum\.campus\.test/)
  assert.equal(cellNameProblem('c-10-0-0-7', 'campus.test', ['forum.campus.test']), null)
})
