// SSE framing and view serialisation (pure).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { serializeView, sseComment, sseEvent, sseRetry, viewEvent } from '../../src/dashboard/index.ts'
import { fakeOrganism } from './fixture.ts'

test('an event is its fields, one data line per line of data, and a blank line', () => {
  assert.equal(sseEvent('view', '{"a":1}'), 'event: view\ndata: {"a":1}\n\n')
  assert.equal(sseEvent('note', 'one\ntwo\r\nthree'), 'event: note\ndata: one\ndata: two\ndata: three\n\n')
  assert.equal(sseEvent('view', 'x', '7'), 'id: 7\nevent: view\ndata: x\n\n')
  assert.throws(() => sseEvent('bad\nname', 'x'), TypeError)
})

test('comments and the retry hint', () => {
  assert.equal(sseComment('heartbeat'), ': heartbeat\n\n')
  assert.equal(sseComment('two\nlines'), ': two lines\n\n')
  assert.equal(sseRetry(2000), 'retry: 2000\n\n')
})

test('a view serialises to one JSON line that round-trips, even with line breaks in its text', () => {
  const org = fakeOrganism()
  org.view.events.push({ at: 1, kind: 'info', text: 'line one\nline two\u2028three' })
  const json = serializeView(org.view)
  assert.ok(!/[\r\n]/.test(json))
  assert.deepEqual(JSON.parse(json), org.view)
  const frame = viewEvent(org.view)
  assert.equal(frame.split('\n').filter((l) => l.startsWith('data: ')).length, 1)
  assert.ok(frame.endsWith('\n\n'))
})

test('non-finite numbers become 0 rather than null, so the page can always format them', () => {
  const org = fakeOrganism()
  org.view.cells[0].load.cpu = Number.NaN
  org.view.cells[0].functions[0].p99Ms = Number.POSITIVE_INFINITY
  const back = JSON.parse(serializeView(org.view))
  assert.equal(back.cells[0].load.cpu, 0)
  assert.equal(back.cells[0].functions[0].p99Ms, 0)
})
