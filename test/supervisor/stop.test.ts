// Graceful stop: SIGTERM to the whole group, drain within the grace, SIGKILL after it; the pid file goes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { alive, fnSpec, markedProcesses, startSupervisor, tempDir, waitFor, waitState } from './helpers.ts'

test('stop lets a draining function finish and removes its pid file', async (t) => {
  const stateDir = tempDir(t)
  const sup = await startSupervisor(t, { stateDir, stopGraceMs: 5_000, functions: [fnSpec('drainer', { env: { ON_TERM: 'drain', DRAIN_MS: '300' } })] })
  await waitState(sup, 'drainer', 'running')
  assert.ok(existsSync(join(stateDir, 'run', 'drainer.json')))
  const { pid } = JSON.parse(readFileSync(join(stateDir, 'run', 'drainer.json'), 'utf8')) as { pid: number }
  await sup.stopFunction('drainer')
  assert.equal(readFileSync(join(sup.dataDir('drainer'), 'drained'), 'utf8'), 'yes', 'the SIGTERM handler finished its drain')
  assert.equal(sup.get('drainer')?.state, 'stopped')
  assert.ok(!existsSync(join(stateDir, 'run', 'drainer.json')))
  assert.equal(alive(pid), false)
  assert.deepEqual(await markedProcesses(stateDir), [])
})

test('a function ignoring SIGTERM is SIGKILLed after the grace; stop() stops all and waits for them', async (t) => {
  const stateDir = tempDir(t)
  const sup = await startSupervisor(t, {
    stateDir,
    stopGraceMs: 300,
    functions: [fnSpec('stubborn', { env: { ON_TERM: 'ignore' } }), fnSpec('polite'), fnSpec('drainer', { env: { ON_TERM: 'drain', DRAIN_MS: '100' } })]
  })
  for (const f of ['stubborn', 'polite', 'drainer']) await waitState(sup, f, 'running')
  const before = await markedProcesses(stateDir)
  assert.ok(before.some((p) => p.fn === 'stubborn'))
  await sup.stop()
  for (const p of before) assert.equal(alive(p.pid), false, `${p.fn} pid ${p.pid} is gone`)
  assert.deepEqual(await markedProcesses(stateDir), [])
  for (const s of sup.status()) assert.equal(s.state, 'stopped')
  assert.ok(readFileSync(join(stateDir, 'logs', 'stubborn.log'), 'utf8').includes('ignoring SIGTERM'))
})

test('stopping during setup kills the setup and ends stopped', async (t) => {
  const code = tempDir(t)
  const sup = await startSupervisor(t, { stopGraceMs: 300, functions: [fnSpec('slowsetup', { codeDir: code, setup: 'echo $$ > setup.pid; sleep 30' })] })
  await waitState(sup, 'slowsetup', 'setup')
  const pid = Number(await waitFor('setup pid', () => { try { return readFileSync(join(code, 'setup.pid'), 'utf8').trim() } catch { return '' } }))
  await sup.stopFunction('slowsetup')
  assert.equal(sup.get('slowsetup')?.state, 'stopped')
  assert.equal(alive(pid), false)
})
