// A cell refuses an unsigned genome before starting anything, and keeps serving its healthy functions when another one fails.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, mkdtemp, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initGenome, signedCommit } from '../../src/genome/index.ts'
import { spawnCell, runCli, waitFor, request, functionProcesses, leftoverProcesses } from '../helpers/cell-process.ts'
import type { CellProcess } from '../helpers/cell-process.ts'
import type { CellStatus } from '../../src/cell/status.ts'

process.env.GIT_CONFIG_GLOBAL = '/dev/null'
const dir = await mkdtemp(join(tmpdir(), 'organism-resilience-'))
const cells: CellProcess[] = []
after(async () => {
  for (const c of cells) if (c.child.exitCode == null) { c.child.kill('SIGTERM'); await c.exited }
  for (const pids of (await leftoverProcesses(dir)).values()) for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch {} }
  await rm(dir, { recursive: true, force: true })
})

const server = `require('node:http').createServer((req, res) => res.end('ok ' + process.env.FUNCTION)).listen(process.env.PORT, '127.0.0.1')\n`

async function genome (name: string, yaml: string): Promise<string> {
  const repo = join(dir, name)
  await initGenome(repo, { keyPath: join(dir, 'key'), organism: 'tough', zone: 'tough.test' })
  await mkdir(join(repo, 'functions', 'good'), { recursive: true })
  await writeFile(join(repo, 'functions', 'good', 'server.js'), server)
  await writeFile(join(repo, 'organism.yaml'), yaml)
  return repo
}

test('an unsigned genome is refused with the commit named, and nothing is started', async () => {
  const repo = await genome('unsigned', 'organism: tough\nzone: tough.test\nfunctions:\n  good:\n    code: functions/good\n    start: node server.js\n')
  execFileSync('git', ['-C', repo, 'add', '-A'])
  execFileSync('git', ['-C', repo, '-c', 'commit.gpgsign=false', 'commit', '-qm', 'not signed'])
  const head = execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim()
  const state = join(dir, 'state-unsigned')
  const r = await runCli(['start', '--genome', repo, '--state', state, '--port', '0', '--dns-port', '0'])
  assert.equal(r.code, 1)
  assert.match(r.stderr, /GENOME_UNSIGNED/)
  assert.ok(r.stderr.includes(head.slice(0, 7)), `the error names the commit: ${r.stderr}`)
  assert.match(r.stderr, /hint:/)
  assert.equal((await functionProcesses(state)).size, 0)
})

test('a function that cannot start does not stop the others from serving', async () => {
  const repo = await genome('mixed', [
    'organism: tough', 'zone: tough.test', 'functions:',
    '  good:', '    code: functions/good', '    start: node server.js',
    '  broken:', '    code: functions/good', '    start: exit 3'
  ].join('\n') + '\n')
  await signedCommit(repo, 'a broken function', join(dir, 'key'))
  const state = join(dir, 'state-mixed')
  // A state dir and a log someone opened to other users: the cell narrows them again (its keys and token are here).
  await mkdir(state, { mode: 0o755 })
  await chmod(state, 0o755)
  await writeFile(join(state, 'cell.log'), '', { mode: 0o644 })
  const cell = spawnCell(['start', '--genome', repo, '--state', state, '--port', '0', '--dns-port', '0'])
  cells.push(cell)
  const status = await waitFor('good running, broken failing', async () => {
    const r = await runCli(['status', '--json', '--state', state])
    if (r.stdout === '') return null
    const s = JSON.parse(r.stdout) as CellStatus
    const broken = s.functions.find((f) => f.name === 'broken')
    return s.functions.find((f) => f.name === 'good')?.state === 'running' && broken?.error != null ? s : null
  }, { tries: 300 })
  const broken = status.functions.find((f) => f.name === 'broken')
  assert.match(broken?.error?.message ?? '', /3/, 'the exit code is in the error')
  const good = await request(status.router.port, 'good.tough.test', '/')
  assert.equal(good.status, 200)
  assert.equal(good.body, 'ok good')
  const down = await request(status.router.port, 'broken.tough.test', '/')
  assert.equal(down.status, 503)
  assert.ok(Number(down.headers['retry-after']) >= 1, 'a 503 says when to retry')
  const text = await runCli(['status', '--state', state])
  assert.equal(text.code, 3, 'status exits non-zero while a function is not running')
  assert.match(text.stdout, /broken: FUNCTION_\w+/)
  assert.equal((await stat(state)).mode & 0o777, 0o700)
  assert.equal((await stat(join(state, 'cell.log'))).mode & 0o777, 0o600)
  const logs = (await readdir(state, { recursive: true })).filter((f) => f.endsWith('good.log'))
  assert.ok(logs.length > 0, 'the function has its log')
  for (const f of logs) assert.equal((await stat(join(state, f))).mode & 0o777, 0o640, f)
})

test('a cell name that is not one DNS label, or is a function\'s host, is refused before anything starts', async () => {
  const repo = await genome('names', 'organism: tough\nzone: tough.test\nfunctions:\n  good:\n    code: functions/good\n    start: node server.js\n')
  await signedCommit(repo, 'named', join(dir, 'key'))
  for (const [name, why] of [['a.b', /not one DNS label/], ['good', /host of function domain good\.tough\.test/]] as const) {
    const state = join(dir, `state-name-${name}`)
    const r = await runCli(['start', '--genome', repo, '--state', state, '--port', '0', '--dns-port', '0', '--name', name])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /CELL_NAME_INVALID/)
    assert.match(r.stderr, why)
    assert.equal((await functionProcesses(state)).size, 0)
  }
})
