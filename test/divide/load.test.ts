// The load generator against a tiny local server: roughly the asked rate, bounded, stops by itself, varies users.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { once } from 'node:events'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { runLoad, mostlyFailed } from '../../src/divide/index.ts'
import { parseLoadArgs, resolveTarget } from '../../src/cli/load.ts'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { liveStartTime } from '../../src/core/proc-stat.ts'

interface Seen { count: number, hosts: Set<string>, cookies: Set<string>, maxInFlight: number }

async function server (handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_q, r) => r.end('ok')): Promise<{ url: URL, seen: Seen, close: () => Promise<void> }> {
  const seen: Seen = { count: 0, hosts: new Set(), cookies: new Set(), maxInFlight: 0 }
  let inFlight = 0
  const srv = http.createServer((req, res) => {
    seen.count++; inFlight++
    seen.maxInFlight = Math.max(seen.maxInFlight, inFlight)
    seen.hosts.add(req.headers.host ?? '')
    seen.cookies.add(req.headers.cookie ?? '')
    res.on('close', () => inFlight--)
    handler(req, res)
  })
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  const port = (srv.address() as { port: number }).port
  return { url: new URL(`http://127.0.0.1:${port}`), seen, close: async () => { srv.closeAllConnections(); srv.close(); await once(srv, 'close') } }
}

test('sends about the asked rate with the Host header, cycling users, and stops by itself', async () => {
  const s = await server()
  try {
    const ticks: number[] = []
    const t0 = Date.now()
    const r = await runLoad({ router: s.url, host: 'grades.campus.test', rps: 50, seconds: 2, users: 7, path: '/x', onTick: (t) => ticks.push(t.sent) })
    assert.ok(Date.now() - t0 < 10_000, 'stopped by itself')
    assert.ok(s.seen.count >= 60 && s.seen.count <= 110, `server saw ${s.seen.count}`)
    assert.equal(r.sent, s.seen.count)
    assert.equal(r.ok, r.sent)
    assert.deepEqual(r.errors, {})
    assert.deepEqual([...s.seen.hosts], ['grades.campus.test'])
    assert.equal(s.seen.cookies.size, 7)
    assert.ok([...s.seen.cookies].every((c) => /^session=load-user-\d$/.test(c)))
    assert.ok(ticks.length >= 1, 'reported at least once a second')
    assert.ok(r.p50Ms > 0 && r.p99Ms >= r.p50Ms)
    assert.ok(!mostlyFailed(r))
  } finally { await s.close() }
})

test('keeps at most maxInFlight requests waiting on a slow server, skipping the rest (open loop)', async () => {
  const s = await server((_q, res) => setTimeout(() => res.end('slow'), 1500))
  try {
    const r = await runLoad({ router: s.url, host: 'slow.test', rps: 100, seconds: 1, users: 0, path: '/', maxInFlight: 10 })
    assert.ok(s.seen.maxInFlight <= 10, `in flight ${s.seen.maxInFlight}`)
    assert.equal(r.sent, 10)
    assert.ok(r.skipped >= 50, `skipped ${r.skipped}`)
    assert.equal(r.ok, 10)
    assert.deepEqual([...s.seen.cookies], [''])
  } finally { await s.close() }
})

test('counts errors by status and by network failure', async () => {
  const s = await server((_q, res) => { res.statusCode = 503; res.end('no') })
  try {
    const r = await runLoad({ router: s.url, host: 'x.test', rps: 40, seconds: 0.5, users: 1, path: '/' })
    assert.ok(r.sent > 0)
    assert.equal(r.errors['503'], r.sent)
    assert.ok(mostlyFailed(r))
  } finally { await s.close() }
  const r = await runLoad({ router: s.url, host: 'x.test', rps: 20, seconds: 0.3, users: 1, path: '/' })
  assert.equal(r.errors.ECONNREFUSED, r.sent)
})

test('an abort signal stops it early', async () => {
  const s = await server()
  try {
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 300)
    const t0 = Date.now()
    await runLoad({ router: s.url, host: 'x.test', rps: 20, seconds: 30, users: 1, path: '/', signal: ac.signal })
    assert.ok(Date.now() - t0 < 3000)
  } finally { await s.close() }
})

test('arguments: defaults, caps and mistakes', () => {
  const a = parseLoadArgs(['grades', '--rps', '50'])
  assert.deepEqual({ fn: a.fn, rps: a.rps, seconds: a.seconds, users: a.users, path: a.path, cell: a.cell, routerUrl: a.routerUrl }, { fn: 'grades', rps: 50, seconds: 30, users: 1, path: '/', cell: null, routerUrl: null })
  assert.throws(() => parseLoadArgs(['grades']), { code: 'DIVIDE_LOAD_USAGE' })
  assert.throws(() => parseLoadArgs(['--rps', '5']), { code: 'DIVIDE_LOAD_USAGE' })
  assert.throws(() => parseLoadArgs(['g', '--rps', '5', '--seconds', '3600']), { code: 'DIVIDE_LOAD_USAGE' })
  assert.throws(() => parseLoadArgs(['g', '--rps', 'lots']), { code: 'DIVIDE_LOAD_USAGE' })
  assert.throws(() => parseLoadArgs(['g', '--rps', '5', '--path', 'x']), { code: 'DIVIDE_LOAD_USAGE' })
  assert.throws(() => parseLoadArgs(['g', '--rps', '5', '--bogus']), { code: 'DIVIDE_LOAD_USAGE' })
})

const script = fileURLToPath(new URL('../../scripts/load.ts', import.meta.url))
function runScript (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err == null ? 0 : (typeof err.code === 'number' ? err.code : -1), stdout, stderr })
    })
  })
}

test('the script prints a line a second, stops by itself, and exits 0 when requests succeed', async () => {
  const s = await server()
  try {
    const r = await runScript(['grades', '--rps', '30', '--seconds', '2', '--router', s.url.href, '--host', 'grades.campus.test', '--users', '3'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /loading grades \(Host: grades\.campus\.test\)/)
    assert.match(r.stdout, /sent \d+ {2}ok \d+/)
    assert.match(r.stdout, /^done: /m)
    assert.equal(s.seen.cookies.size, 3)
  } finally { await s.close() }
})

test('the script exits non-zero when most requests fail, or the router URL is not http', async () => {
  const s = await server((_q, res) => { res.statusCode = 500; res.end() })
  try {
    const r = await runScript(['grades', '--rps', '20', '--seconds', '0.5', '--router', s.url.href, '--host', 'g.test'])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /DIVIDE_LOAD_FAILED/)
    assert.match(r.stdout, /500×\d+/)
  } finally { await s.close() }
  const bad = await runScript(['grades', '--rps', '20', '--router', 'https://example.com', '--host', 'g.test'])
  assert.notEqual(bad.code, 0)
  assert.match(bad.stderr, /DIVIDE_LOAD_BAD_ROUTER/)
})

test('with --cell, the router port comes from cell.json and the domain from the cell\'s status', async () => {
  const router = await server()
  // A stand-in for the cell's local API: it checks the token like the real one.
  const api = await server((req, res) => {
    if (req.headers.authorization !== 'Bearer t0k') { res.statusCode = 401; res.end(); return }
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ zone: 'campus.test', functions: [{ name: 'grades', domain: 'grades.campus.test' }, { name: 'forum' }] }))
  })
  const dir = await mkdtemp(join(tmpdir(), 'organism-load-'))
  try {
    await writeFile(join(dir, 'cell.json'), JSON.stringify({ pid: process.pid, apiPort: Number(api.url.port), routerPort: Number(router.url.port), token: 't0k' }))
    await writeFile(join(dir, 'cell.lock'), JSON.stringify({ pid: process.pid, startTime: liveStartTime(process.pid) }))
    const base = { ...parseLoadArgs(['grades', '--rps', '1', '--cell', dir]) }
    const t = await resolveTarget(base)
    assert.equal(t.router.href, router.url.href)
    assert.equal(t.host, 'grades.campus.test')
    assert.equal((await resolveTarget({ ...base, fn: 'forum' })).host, 'forum.campus.test')
    await assert.rejects(resolveTarget({ ...base, fn: 'nope' }), (err: Error & { code?: string }) => err.code === 'DIVIDE_LOAD_UNKNOWN_FUNCTION' && /grades, forum/.test(err.message))
    const r = await runScript(['grades', '--rps', '20', '--seconds', '0.5', '--cell', dir])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual([...router.seen.hosts], ['grades.campus.test'])
    const gone = await runScript(['grades', '--rps', '20', '--cell', join(dir, 'none')])
    assert.match(gone.stderr, /CELL_NOT_RUNNING/)
  } finally {
    await rm(dir, { recursive: true, force: true })
    await router.close(); await api.close()
  }
})
