// The dashboard's HTTP side over real sockets: which paths it owns, the SSE stream, limits, cleanup, close.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createDashboard } from '../../src/dashboard/index.ts'
import type { OrganismView } from '../../src/dashboard/index.ts'
import { fakeOrganism } from './fixture.ts'
import { isView, openSse, serve, until } from './helpers.ts'

test('handle() serves its three paths and returns false for every other path', async (t) => {
  const org = fakeOrganism()
  const srv = await serve(createDashboard({ view: org.snapshot }))
  t.after(srv.close)
  for (const path of ['/other', '/events/x', '/view.json/', '/favicon.ico', '/index.htm', '/eventsx']) {
    const res = await fetch(srv.url + path)
    assert.equal(res.status, 404, path)
    assert.equal(await res.text(), 'not the dashboard', path)
  }
  const page = await fetch(srv.url + '/?x=1')
  assert.equal(page.status, 200)
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/)
  const html = await page.text()
  assert.doesNotMatch(html, /(src|href)=["']?(https?:)?\/\//, 'no external assets')
  assert.match(html, /new EventSource\('events'\)/, 'relative URL, so the page works under a prefix')
  const json = await fetch(srv.url + '/view.json')
  assert.equal(json.headers.get('cache-control'), 'no-store')
  assert.equal(((await json.json()) as OrganismView).cells.length, 3)
  const post = await fetch(srv.url + '/view.json', { method: 'POST' })
  assert.equal(post.status, 405)
  assert.equal(post.headers.get('allow'), 'GET, HEAD')
})

test('under a base path it owns only that prefix, and adds the trailing slash the relative URLs need', async (t) => {
  const org = fakeOrganism()
  const srv = await serve(createDashboard({ view: org.snapshot, basePath: '/_organism' }))
  t.after(srv.close)
  const bare = await fetch(srv.url + '/_organism', { redirect: 'manual' })
  assert.equal(bare.status, 308)
  assert.equal(bare.headers.get('location'), '/_organism/')
  assert.equal((await fetch(srv.url + '/_organism/')).status, 200)
  assert.equal((await fetch(srv.url + '/_organism/view.json')).status, 200)
  assert.equal((await fetch(srv.url + '/view.json')).status, 404)
  assert.equal((await fetch(srv.url + '/')).status, 404)
  const s = await openSse(srv.url + '/_organism/events')
  t.after(s.close)
  await s.next(isView)
})

test('a stream starts with a retry hint and the view, then pushes on change without waiting for the period', async (t) => {
  const org = fakeOrganism()
  const dash = createDashboard({ view: org.snapshot, changes: org.changes, pushIntervalMs: 60_000 })
  const srv = await serve(dash)
  t.after(srv.close)
  const s = await openSse(srv.url + '/events')
  t.after(s.close)
  assert.equal(s.res.statusCode, 200)
  assert.match(s.res.headers['content-type'] ?? '', /^text\/event-stream/)
  assert.equal(s.res.headers['cache-control'], 'no-store, no-transform')
  assert.deepEqual(await s.next((f) => f.retry != null), { retry: '2000' })
  const first = JSON.parse((await s.next(isView)).data!) as OrganismView
  assert.equal(first.cells[1].state, 'alive')
  await until(() => org.feeds() === 1)
  org.cell('beta').state = 'dead'
  org.changed()
  const started = Date.now()
  const second = JSON.parse((await s.next(isView, 1000)).data!) as OrganismView
  assert.equal(second.cells[1].state, 'dead')
  assert.ok(Date.now() - started < 1000)
})

test('a burst of changes is merged into a few pushes', async (t) => {
  const org = fakeOrganism()
  const srv = await serve(createDashboard({ view: org.snapshot, changes: org.changes, pushIntervalMs: 60_000 }))
  t.after(srv.close)
  const s = await openSse(srv.url + '/events')
  t.after(s.close)
  await s.next(isView)
  await until(() => org.feeds() === 1)
  for (let i = 0; i < 500; i++) org.changed()
  await new Promise((resolve) => setTimeout(resolve, 300))
  const views = s.frames.filter(isView).length - 1
  assert.ok(views >= 1 && views <= 3, `500 nudges gave ${views} pushes`)
})

test('without changes it still pushes every pushIntervalMs, and sends heartbeat comments', async (t) => {
  const org = fakeOrganism()
  const srv = await serve(createDashboard({ view: org.snapshot, pushIntervalMs: 50, heartbeatMs: 40 }))
  t.after(srv.close)
  const s = await openSse(srv.url + '/events')
  t.after(s.close)
  await s.next(isView)
  org.cell('gamma').load.requestsPerSecond = 999
  const pushed = await s.next((f) => isView(f) && (JSON.parse(f.data!) as OrganismView).cells[2].load.requestsPerSecond === 999, 1000)
  assert.ok(pushed)
  await s.next((f) => f.comment === 'heartbeat', 1000)
})

test('streams are bounded (503 beyond), cleaned up when a viewer leaves, and the change feed stops with the last one', async (t) => {
  const org = fakeOrganism()
  const dash = createDashboard({ view: org.snapshot, changes: org.changes, maxClients: 2 })
  const srv = await serve(dash)
  t.after(srv.close)
  const a = await openSse(srv.url + '/events')
  const b = await openSse(srv.url + '/events')
  await a.next(isView); await b.next(isView)
  assert.equal(dash.clients(), 2)
  await until(() => org.feeds() === 1) // one feed shared by all viewers
  const refused = await fetch(srv.url + '/events')
  assert.equal(refused.status, 503)
  assert.equal(refused.headers.get('retry-after'), '10')
  a.close()
  await until(() => dash.clients() === 1)
  const c = await openSse(srv.url + '/events')
  await c.next(isView)
  b.close(); c.close()
  await until(() => dash.clients() === 0)
  await until(() => org.feeds() === 0)
})

test('close() ends every stream, and later streams are refused', async (t) => {
  const org = fakeOrganism()
  const dash = createDashboard({ view: org.snapshot, changes: org.changes })
  const srv = await serve(dash)
  t.after(srv.close)
  const s = await openSse(srv.url + '/events')
  await s.next(isView)
  const ended = new Promise((resolve) => s.res.on('end', resolve))
  dash.close()
  await ended
  assert.equal(dash.clients(), 0)
  await until(() => org.feeds() === 0)
  assert.equal((await fetch(srv.url + '/events')).status, 503)
  assert.equal((await fetch(srv.url + '/view.json')).status, 200, 'the page and JSON still answer')
})

test('a view() that throws does not break the stream; the next good view goes out', async (t) => {
  const org = fakeOrganism()
  let broken = false
  const view = (): OrganismView => { if (broken) throw new Error('state not ready'); return org.snapshot() }
  const srv = await serve(createDashboard({ view, changes: org.changes, pushIntervalMs: 60_000 }))
  t.after(srv.close)
  const s = await openSse(srv.url + '/events')
  t.after(s.close)
  await s.next(isView)
  await until(() => org.feeds() === 1)
  broken = true
  assert.equal((await fetch(srv.url + '/view.json')).status, 500)
  org.changed()
  await new Promise((resolve) => setTimeout(resolve, 200))
  broken = false
  org.cell('alpha').name = 'alpha-renamed'
  org.changed()
  const f = await s.next(isView)
  assert.equal((JSON.parse(f.data!) as OrganismView).cells[0].name, 'alpha-renamed')
})
