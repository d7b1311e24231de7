// kill -9 of the cell: a new supervisor on the same state dir reaps the old function processes, never duplicates them, never kills strangers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { alive, fixtures, fnSpec, markedProcesses, startSupervisor, tempDir, waitFor, waitState } from './helpers.ts'

async function freePort (): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const port = (srv.address() as { port: number }).port
  await new Promise((resolve) => srv.close(resolve))
  return port
}

test('after the cell is SIGKILLed, a new supervisor kills the orphans first and runs exactly one of each', async (t) => {
  const stateDir = tempDir(t)
  // Whatever happens, no process of this test may outlive it.
  t.after(async () => { for (const p of await markedProcesses(stateDir)) try { process.kill(p.pid, 'SIGKILL') } catch { /* gone */ } })
  // A fixed port makes a duplicate impossible to miss: the new start would fail with FUNCTION_PORT_IN_USE.
  const functions = [fnSpec('fixed', { port: await freePort() }), fnSpec('dynamic'), fnSpec('nested', { start: `sh -c '${fnSpec('x').start.replace(/"/g, '')}; true'` })]
  const cell = spawn(process.execPath, [join(fixtures, 'cell.ts'), stateDir, JSON.stringify(functions)], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(() => { cell.kill('SIGKILL') })
  let out = ''
  cell.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  await waitFor('the first cell to be ready', () => out.includes('ready') || out.includes('timeout') || cell.exitCode != null, 30_000)
  assert.match(out, /^ready /m)
  const old = await markedProcesses(stateDir)
  assert.deepEqual([...new Set(old.map((p) => p.fn))].sort(), ['dynamic', 'fixed', 'nested'])

  cell.kill('SIGKILL')
  await waitFor('the first cell to die', () => cell.exitCode != null || cell.signalCode != null)
  for (const p of old) assert.ok(alive(p.pid), `orphan ${p.fn} ${p.pid} survived its cell (the premise of this test)`)

  const sup = await startSupervisor(t, { stateDir, stopGraceMs: 1_000, functions })
  for (const f of functions) await waitState(sup, f.name, 'running')
  for (const p of old) assert.equal(alive(p.pid), false, `old ${p.fn} pid ${p.pid} was reaped`)
  const now = await markedProcesses(stateDir)
  const oldTokens = new Set(old.map((p) => p.token))
  assert.ok(now.every((p) => !oldTokens.has(p.token)), 'no process of the old cell remains')
  for (const f of functions) {
    assert.equal(new Set(now.filter((p) => p.fn === f.name).map((p) => p.token)).size, 1, `exactly one running ${f.name}`)
  }
  await sup.stop()
  assert.deepEqual(await markedProcesses(stateDir), [])
})

test('a pid file whose pid now belongs to a stranger is ignored (pid reuse)', async (t) => {
  const stateDir = tempDir(t)
  const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' })
  t.after(() => { try { process.kill(-(stranger.pid as number), 'SIGKILL') } catch { /* gone */ } })
  mkdirSync(join(stateDir, 'run'), { recursive: true })
  // Same pid, but a different start time and no token in its environment: not ours.
  writeFileSync(join(stateDir, 'run', 'ghost.json'), JSON.stringify({ function: 'ghost', pid: stranger.pid, pgid: stranger.pid, startTime: 1, token: 'not-the-strangers', startedAt: 0 }))
  const sup = await startSupervisor(t, { stateDir, functions: [fnSpec('ghost')] })
  await waitState(sup, 'ghost', 'running')
  assert.ok(alive(stranger.pid as number), 'the stranger still lives')
})
