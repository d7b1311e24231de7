// What a viewer on another machine sees of the live map (pure): names instead of peer ids, addresses without ports,
// events without peer ids; a viewer on this host sees everything.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isLocalViewer, publicView } from '../../src/dashboard/public.ts'
import { fakeOrganism } from './fixture.ts'

test('the public view names cells, hides peer ids and ports, also inside event texts', () => {
  const v = fakeOrganism().snapshot()
  const ids = v.cells.map((c) => c.id)
  const withEvent = { ...v, self: ids[0], events: [...v.events, { at: 1, kind: 'info' as const, text: `rejected a forged record from ${ids[1]}` }], flows: [{ kind: 'forward' as const, fn: 'quiz', from: ids[0], to: ids[2], at: 1, requestsPerSecond: 3 }] }
  const p = publicView(withEvent)
  const text = JSON.stringify(p)
  for (const id of ids) assert.equal(text.includes(id), false, `${id} is hidden`)
  assert.equal(p.self, v.cells[0].name)
  assert.deepEqual(p.cells.map((c) => c.id), v.cells.map((c) => c.name))
  assert.ok(p.cells.every((c) => !/:\d+$/.test(c.address)))
  assert.equal(p.events.at(-1)?.text, `rejected a forged record from ${v.cells[1].name}`)
  assert.deepEqual(p.cells.map((c) => c.functions), v.cells.map((c) => c.functions), 'load and functions stay')
  assert.deepEqual(p.flows, [{ kind: 'forward', fn: 'quiz', from: v.cells[0].name, to: v.cells[2].name, at: 1, requestsPerSecond: 3 }], 'arrows join cells by name')
})

test('only this host\'s own addresses are local viewers', () => {
  for (const a of ['127.0.0.1', '127.0.3.4', '::1', '::ffff:127.0.0.1']) assert.equal(isLocalViewer(a), true, a)
  for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '2001:db8::1', undefined]) assert.equal(isLocalViewer(a), false, String(a))
})
