// `npm start` grows up: the demo cell starts with a pool of empty hosts on this machine and divides onto them,
// by itself under `npm run load` (loopback sshd hosts) and by hand (local executor); stopping it leaves nothing.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnCell, runCli, waitFor, request, leftoverProcesses } from '../helpers/cell-process.ts'
import type { CellProcess } from '../helpers/cell-process.ts'
import type { CellStatus } from '../../src/cell/status.ts'

const dir = await mkdtemp(join(tmpdir(), 'organism-demo-grows-'))
const cells: CellProcess[] = []
after(async () => {
  for (const c of cells) if (c.child.exitCode == null) { c.child.kill('SIGTERM'); await Promise.race([c.exited, new Promise((r) => setTimeout(r, 30_000))]) }
  for (const c of cells) if (c.child.exitCode == null) c.child.kill('SIGKILL')
  for (const pids of (await leftoverProcesses(dir)).values()) for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch {} }
  await rm(dir, { recursive: true, force: true })
})

/** Processes whose command line names this path: the demo hosts' sshd, cells and functions live under it. */
async function processesUnder (path: string): Promise<string[]> {
  const out: string[] = []
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
    if (cmd.includes(path)) out.push(`${pid} ${cmd.replaceAll('\0', ' ').slice(0, 160)}`)
  }
  return out
}

async function startDemo (name: string, env: Record<string, string>): Promise<{ cell: CellProcess, state: string, port: number, status: () => Promise<CellStatus> }> {
  const state = join(dir, name)
  const cell = spawnCell(['start', '--demo', '--state', state, '--port', '0', '--dns-port', '0'], env)
  cells.push(cell)
  const status = async (): Promise<CellStatus> => JSON.parse((await runCli(['status', '--json', '--state', state])).stdout) as CellStatus
  const first = await waitFor('the demo runs its functions and prints its pool', async () => {
    if (cell.child.exitCode != null) throw new Error(`the demo exited: ${cell.output()}`)
    const s = await status().catch(() => null)
    return s?.functions.every((f) => f.state === 'running') === true && /make it divide/.test(cell.output()) ? s : null
  }, { tries: 600 })
  return { cell, state, port: first.router.port, status }
}

const ownerOf = (s: CellStatus, fn: string): string | undefined => s.placements.find((p) => p.fn === fn)?.owner

async function stopAndCheckNothingLeft (cell: CellProcess, hostsDir: string): Promise<void> {
  cell.child.kill('SIGTERM')
  assert.equal(await cell.exited, 0, cell.output().slice(-2000))
  assert.deepEqual(await processesUnder(hostsDir), [], 'no process of the demo hosts is left')
}

test('npm start: the demo divides by itself under npm run load, onto a loopback sshd host', async () => {
  const demo = await startDemo('ssh', { ORGANISM_DEMO_POOL: 'ssh' })
  const hosts = [...demo.cell.output().matchAll(/^ {2}(ssh:\/\/\S+)$/gm)].map((m) => m[1])
  assert.equal(hosts.length, 3, demo.cell.output())
  const self = (await demo.status()).cell.id
  // The load generator as the README shows it: 40 req/s on grades, twice the demo genome's 20 req/s limit.
  const load = spawn(process.execPath, ['scripts/load.ts', 'grades', '--rps', '40', '--seconds', '90', '--cell', demo.state], { stdio: 'ignore' })
  try {
    const moved = await waitFor('grades handed to a new cell', async () => {
      const s = await demo.status()
      const owner = ownerOf(s, 'grades')
      return owner != null && owner !== self && s.members.find((m) => m.id === owner)?.liveness === 'alive' ? s : null
    }, { tries: 240, everyMs: 500 })
    assert.equal(moved.members.length, 2, 'one division, one more cell')
  } finally { load.kill('SIGTERM') }
  // Still served through the demo's router, now forwarded to the new cell, which takes a write.
  const r = await waitFor('grades answers after the move', async () => { const x = await request(demo.port, 'grades.campus.test', '/health'); return x.status === 200 ? x : null }, { tries: 100 })
  assert.equal(r.status, 200)
  const posted = await request(demo.port, 'grades.campus.test', '/grades', { method: 'POST', body: JSON.stringify({ student: 2, course: 'ma201', grade: 4 }) })
  assert.equal(posted.status, 201, posted.body)
  // The demo's hosts are a loopback lab: 127.0.<lab>.N, its files under a directory named orgl<lab>-….
  const labId = /^ssh:\/\/[^@]+@127\.0\.(\d+)\./.exec(hosts[0])?.[1]
  assert.ok(labId != null, `a loopback lab host: ${hosts[0]}`)
  assert.ok((await processesUnder(`/orgl${labId}-`)).length > 0, 'the check below looks where the demo hosts run')
  await stopAndCheckNothingLeft(demo.cell, `/orgl${labId}-`)
  assert.match(demo.cell.output(), /grades is back/, 'Ctrl-C brought grades home before its host went')
  // A second `npm start` on the same state serves everything, with the grade written on the removed host.
  const again = await startDemo('ssh', { ORGANISM_DEMO_POOL: 'ssh' })
  const s = await again.status()
  assert.ok(s.placements.every((p) => p.owner === s.cell.id), `every function is home: ${JSON.stringify(s.placements)}`)
  const grade = await request(again.port, 'grades.campus.test', '/grades/2')
  assert.equal(grade.status, 200, grade.body)
  assert.ok(grade.body.includes('ma201'), `the grade written before Ctrl-C is there: ${grade.body}`)
  again.cell.child.kill('SIGTERM')
  assert.equal(await again.cell.exited, 0)
})

test('without sshd the demo uses the local executor, says so, and divides by hand', async () => {
  const demo = await startDemo('local', { ORGANISM_DEMO_POOL: 'local' })
  assert.match(demo.cell.output(), /local executor/)
  const host = /^ {2}(local:\/\/\S+)$/m.exec(demo.cell.output())?.[1]
  assert.ok(host != null, demo.cell.output())
  const r = await runCli(['divide', host, '--function', 'forum', '--state', demo.state])
  assert.equal(r.code, 0, r.stdout + r.stderr)
  const s = await demo.status()
  const owner = ownerOf(s, 'forum')
  assert.ok(owner != null && owner !== s.cell.id, 'forum belongs to the new cell')
  const forum = await request(demo.port, 'forum.campus.test', '/health')
  assert.equal(forum.status, 200)
  await stopAndCheckNothingLeft(demo.cell, join(demo.state, 'demo-hosts'))
})
