// A request as the data path holds it, from its parsed head (pure): the headers it reads, absolute form, framing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pendingRequest, UNKNOWN_CODING } from '../../src/router/request.ts'
import type { Head } from '../../src/router/h1.ts'

const head = (url: string, headers: string[]): Head => ({ method: 'POST', url, status: 0, reason: '', headers, versionMajor: 1, versionMinor: 1, upgrade: false, keepAlive: true })

test('the headers the router reads are found whatever their case; two Cookie headers are joined', () => {
  const r = pendingRequest(head('/x', ['HOST', 'app.test', 'Cookie', 'a=1', 'cookie', 'b=2', 'User-Agent', 'curl', 'Expect', '100-Continue', 'X-Organism-Hop', 'cell-a', 'Content-Length', '4']), 7)
  assert.equal(r.host, 'app.test')
  assert.equal(r.cookie, 'a=1; b=2')
  assert.equal(r.ua, 'curl')
  assert.equal(r.expectContinue, true)
  assert.equal(r.hop, 'cell-a')
  assert.deepEqual([r.framing, r.length, r.startedAt, r.fn], ['length', 4, 7, ''])
})

test('an absolute-form target gives its host and origin form, and the Host header sent on is rewritten to match', () => {
  const h = head('http://App.test:8080/p?q=1', ['Host', 'other.test'])
  const r = pendingRequest(h, 0)
  assert.equal(r.url, '/p?q=1')
  assert.equal(r.host?.toLowerCase(), 'app.test:8080')
  assert.deepEqual(h.headers, ['Host', r.host])
})

test('chunked is framed as chunked; any other coding is marked to be refused', () => {
  assert.equal(pendingRequest(head('/', ['Transfer-Encoding', 'chunked']), 0).framing, 'chunked')
  assert.equal(pendingRequest(head('/', ['Transfer-Encoding', 'gzip, chunked']), 0).fn, UNKNOWN_CODING)
  assert.equal(pendingRequest(head('/', ['Content-Length', '0']), 0).framing, 'none')
})
