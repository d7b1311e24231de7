// The demo organism end to end: `cell start --demo`, status, requests across functions, logs, kill -9 and restart, stop.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnCell, runCli, waitFor, request, functionProcesses, leftoverProcesses } from '../helpers/cell-process.ts'
import type { CellProcess } from '../helpers/cell-process.ts'
import type { CellStatus } from '../../src/cell/status.ts'

const state = await mkdtemp(join(tmpdir(), 'organism-demo-'))
const cells: CellProcess[] = []
after(async () => {
  for (const c of cells) if (c.child.exitCode == null) c.child.kill('SIGKILL')
  for (const pids of (await leftoverProcesses(state)).values()) for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch {} }
  await rm(state, { recursive: true, force: true })
})

async function startDemo (): Promise<{ cell: CellProcess, status: CellStatus }> {
  // No demo pool here: this test kills the cell with -9, which would leave the pool's sshd hosts for the next start.
  const cell = spawnCell(['start', '--demo', '--state', state, '--port', '0', '--dns-port', '0'], { ORGANISM_DEMO_POOL: 'none' })
  cells.push(cell)
  const status = await waitFor('all demo functions running', async () => {
    if (cell.child.exitCode != null) throw new Error(`cell exited: ${cell.output()}`)
    const r = await runCli(['status', '--json', '--state', state])
    if (r.code !== 0) return null
    const s = JSON.parse(r.stdout) as CellStatus
    return s.functions.every((f) => f.state === 'running') ? s : null
  }, { tries: 300 })
  return { cell, status }
}

let port = 0

test('npm start brings up the five demo functions, reported by `cell status --json`', async () => {
  const { status } = await startDemo()
  port = status.router.port
  assert.ok(port > 0)
  assert.deepEqual(status.functions.map((f) => f.name).sort(), ['catalog', 'forum', 'grades', 'media', 'people'])
  for (const f of status.functions) {
    assert.equal(f.domain, `${f.name}.campus.test`)
    assert.equal(typeof f.port, 'number')
  }
})

test('each function answers through the router by its domain', async () => {
  const courses = await request(port, 'catalog.campus.test', '/courses')
  assert.equal(courses.status, 200)
  assert.ok((JSON.parse(courses.body) as Array<{ id: string }>).some((c) => c.id === 'cs101'))
  assert.equal((await request(port, 'people.campus.test', '/people/1')).status, 200)
  assert.equal((await request(port, 'media.campus.test', '/files')).status, 200)
  assert.equal((await request(port, 'nosuch.campus.test', '/')).status, 404)
})

test('functions call each other over REST through the router', async () => {
  const ok = await request(port, 'grades.campus.test', '/grades', { method: 'POST', body: JSON.stringify({ student: 2, course: 'cs101', grade: 5 }) })
  assert.equal(ok.status, 201, ok.body)
  const badCourse = await request(port, 'grades.campus.test', '/grades', { method: 'POST', body: JSON.stringify({ student: 2, course: 'xx999', grade: 5 }) })
  assert.equal(badCourse.status, 422)
  assert.match(badCourse.body, /no course xx999 in catalog/)
  const post = await request(port, 'forum.campus.test', '/courses/ma201/posts', { method: 'POST', body: JSON.stringify({ author: 'ada', text: 'hello' }) })
  assert.equal(post.status, 201, post.body)
  const mine = await request(port, 'grades.campus.test', '/grades/2')
  assert.equal(JSON.parse(mine.body).student.name, 'Alan Turing')
})

test('status shows the traffic the router measured; logs show the function output', async () => {
  const r = await runCli(['status', '--json', '--state', state])
  const s = JSON.parse(r.stdout) as CellStatus
  const grades = s.functions.find((f) => f.name === 'grades')
  assert.ok(grades != null && grades.traffic.requestsTotal >= 3, JSON.stringify(grades?.traffic))
  const text = await runCli(['status', '--state', state])
  assert.match(text.stdout, /grades\s+here\s+running/)
  const logs = await runCli(['logs', 'catalog', '--state', state])
  assert.equal(logs.code, 0)
  assert.match(logs.stdout, /catalog listening on/)
  const unknown = await runCli(['logs', 'nosuch', '--state', state])
  assert.notEqual(unknown.code, 0)
  assert.match(unknown.stderr, /FUNCTION_UNKNOWN/)
})

test('the local API serves the router and supervisor metrics in Prometheus text format', async () => {
  const r = await runCli(['status', '--json', '--state', state])
  const s = JSON.parse(r.stdout) as CellStatus
  const { token } = JSON.parse(await readFile(join(state, 'cell.json'), 'utf8')) as { token: string }
  assert.equal((await request(s.api.port, '127.0.0.1', '/metrics')).status, 401, 'metrics need the token too (unless --metrics-open)')
  const metrics = await request(s.api.port, '127.0.0.1', '/metrics', { headers: { authorization: `Bearer ${token}` } })
  assert.equal(metrics.status, 200)
  // With the token, but through a name a page elsewhere resolved to 127.0.0.1 (DNS rebinding): refused.
  const rebound = await request(s.api.port, 'evil.example:80', '/status', { headers: { authorization: `Bearer ${token}` } })
  assert.equal(rebound.status, 421)
  assert.match(rebound.body, /CELL_API_BAD_HOST/)
  assert.match(metrics.headers['content-type'] ?? '', /text\/plain/)
  assert.match(metrics.body, /^# TYPE organism_http_requests_total counter$/m)
  assert.match(metrics.body, /^organism_http_requests_total\{function="grades"[^}]*\} [1-9]/m)
  assert.match(metrics.body, /^organism_function_up\{function="catalog"\} 1$/m)
  const unauthorized = await request(s.api.port, '127.0.0.1', '/status')
  assert.equal(unauthorized.status, 401, 'status needs the token from cell.json')
})

test('after kill -9 of the cell, a new start leaves one process per function and the data', async () => {
  const first = cells[cells.length - 1]
  first.child.kill('SIGKILL')
  await first.exited
  const { status } = await startDemo()
  port = status.router.port
  const procs = await waitFor('old function processes gone', async () => {
    const p = await functionProcesses(state)
    return [...p.values()].every((pids) => pids.length === 1) ? p : null
  }, { tries: 100 })
  assert.deepEqual([...procs.keys()].sort(), ['catalog', 'forum', 'grades', 'media', 'people'])
  const mine = await request(port, 'grades.campus.test', '/grades/2')
  assert.equal(JSON.parse(mine.body).grades.length, 1, 'the grade written before kill -9 is still there')
})

test('`cell stop` stops the cell and every function process', async () => {
  const cell = cells[cells.length - 1]
  const r = await runCli(['stop', '--state', state])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(await cell.exited, 0)
  assert.equal((await functionProcesses(state)).size, 0)
  const again = await runCli(['status', '--state', state])
  assert.notEqual(again.code, 0)
  assert.match(again.stderr, /CELL_NOT_RUNNING/)
})
