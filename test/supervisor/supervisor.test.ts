// Supervisor with real processes and sockets: health, env, setup per version, crashes, failures that stay contained.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { formatPrometheus } from '../../src/core/prometheus.ts'
import { fnSpec, getText, startSupervisor, tempDir, waitFor, waitState } from './helpers.ts'
import type { FunctionStatus } from '../../src/supervisor/index.ts'

test('a function starts, passes health, is routable and sees its environment, not the cell\'s', async (t) => {
  // A credential the cell was started with is none of a function's business.
  process.env.CELL_ONLY_SECRET = 's3cret'
  t.after(() => { delete process.env.CELL_ONLY_SECRET })
  const sup = await startSupervisor(t, { functions: [fnSpec('hello', { env: { GREETING: 'hi' } })] })
  await waitState(sup, 'hello', 'running')
  const port = sup.readyPort('hello')
  assert.ok(port != null && port > 0)
  const env = JSON.parse(await getText(port, '/env')) as Record<string, string>
  assert.equal(env.PORT, String(port))
  assert.equal(env.FUNCTION, 'hello')
  assert.equal(env.ORGANISM_ZONE, 'test.organism')
  assert.equal(env.GREETING, 'hi')
  assert.equal(env.DATA_DIR, sup.dataDir('hello'))
  assert.ok(existsSync(env.DATA_DIR))
  assert.match(env.ORGANISM_SPAWN, /^[0-9a-f-]{36}$/)
  assert.equal(env.CELL_ONLY_SECRET, undefined)
  assert.equal(env.PATH, process.env.PATH)
  const st = sup.get('hello') as FunctionStatus
  assert.equal(st.pid != null && st.port === port && st.restarts === 0 && st.error === null, true)
})

test('setup runs once per genome version, with its output in the log', async (t) => {
  const stateDir = tempDir(t)
  const code = tempDir(t)
  const spec = fnSpec('withsetup', { codeDir: code, setup: 'echo setup-ran; echo x >> setup-count' })
  const count = (): number => readFileSync(join(code, 'setup-count'), 'utf8').trim().split('\n').length
  for (const [version, expected] of [['v1', 1], ['v1', 1], ['v2', 2]] as const) {
    const sup = await startSupervisor(t, { stateDir, genomeVersion: version, functions: [spec] })
    await waitState(sup, 'withsetup', 'running')
    assert.equal(count(), expected, `after starting version ${version}`)
    await sup.stop()
  }
  assert.match(readFileSync(join(stateDir, 'logs', 'withsetup.log'), 'utf8'), /setup:out setup-ran/)
})

test('a failing setup fails the function with its exit code and output', async (t) => {
  const sup = await startSupervisor(t, { functions: [fnSpec('badsetup', { codeDir: tempDir(t), setup: 'echo about to fail; exit 4' })] })
  await waitState(sup, 'badsetup', 'failed')
  const err = sup.get('badsetup')?.error
  assert.equal(err?.code, 'FUNCTION_SETUP_FAILED')
  assert.match(err?.message ?? '', /exited with code 4/)
  assert.match(err?.message ?? '', /about to fail/)
  assert.equal(sup.readyPort('badsetup'), null)
})

test('a crashing function restarts with backoff and its restarts are counted', async (t) => {
  const sup = await startSupervisor(t, {
    functions: [fnSpec('crashy', { env: { CRASH_AFTER_MS: '300' } })],
    backoff: { initialMs: 50, maxMs: 200, factor: 2, crashLoopAfter: 100, windowMs: 60_000 }
  })
  const seen = new Set<string>()
  const ac = new AbortController()
  t.after(() => ac.abort())
  const watching = (async () => { for await (const s of sup.changes(ac.signal)) seen.add(s.state) })()
  await waitFor('two restarts', () => (sup.get('crashy')?.restarts ?? 0) >= 2)
  const st = sup.get('crashy') as FunctionStatus
  assert.equal(st.lastExit?.code, 7)
  assert.equal(st.error?.code, 'FUNCTION_EXITED')
  await waitFor('running again', () => sup.get('crashy')?.state === 'running')
  assert.ok(seen.has('backoff') && seen.has('running') && seen.has('starting'), [...seen].join(','))
  ac.abort()
  await watching
})

test('a start command that fails at once shows its exit code and last log lines, and ends in a visible crash loop', async (t) => {
  const sup = await startSupervisor(t, {
    functions: [fnSpec('exits', { start: 'echo "cannot start: missing config" >&2; exit 3' }), fnSpec('notfound', { start: 'no-such-command-organism' })],
    backoff: { initialMs: 20, maxMs: 100, factor: 2, crashLoopAfter: 3, windowMs: 60_000 }
  })
  await waitState(sup, 'exits', 'crash-loop')
  const st = sup.get('exits') as FunctionStatus
  assert.equal(st.error?.code, 'FUNCTION_EXITED')
  assert.match(st.error?.message ?? '', /exited with code 3/)
  assert.match(st.error?.message ?? '', /cannot start: missing config/)
  assert.ok(st.nextRestartAt != null)
  await waitFor('notfound exit 127', () => sup.get('notfound')?.lastExit?.code === 127)
  await waitFor('notfound error text', () => /not found/.test(sup.get('notfound')?.error?.message ?? ''))
  // The crash loop keeps retrying, visibly.
  const before = sup.get('exits')?.restarts ?? 0
  await waitFor('another retry', () => (sup.get('exits')?.restarts ?? 0) > before)
  // Between retries it is back in crash-loop, and the metrics say so.
  await waitFor('crash-loop in the metrics', () => /organism_function_state\{function="exits",state="crash-loop"\} 1/.test(formatPrometheus(sup.metrics())))
})

test('a function that never answers health is killed and failed', async (t) => {
  const sup = await startSupervisor(t, { startTimeoutMs: 500, functions: [fnSpec('mute', { env: { NEVER_LISTEN: '1' } })] })
  await waitState(sup, 'mute', 'failed')
  const st = sup.get('mute') as FunctionStatus
  assert.equal(st.error?.code, 'FUNCTION_NEVER_HEALTHY')
  assert.equal(st.pid, null)
  assert.ok(st.lastExit != null, 'its process was ended')
})

test('a fixed port already in use fails that function only', async (t) => {
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  t.after(() => blocker.close())
  const taken = (blocker.address() as { port: number }).port
  const sup = await startSupervisor(t, { functions: [fnSpec('blocked', { port: taken }), fnSpec('fine')] })
  await waitState(sup, 'blocked', 'failed')
  assert.equal(sup.get('blocked')?.error?.code, 'FUNCTION_PORT_IN_USE')
  assert.match(sup.get('blocked')?.error?.hint ?? '', /port/)
  await waitState(sup, 'fine', 'running')
  assert.equal(await getText(sup.readyPort('fine') as number, '/health'), 'ok')
})

test('an unwritable data dir fails the function', async (t) => {
  const stateDir = tempDir(t)
  mkdirSync(join(stateDir, 'data'), { recursive: true })
  writeFileSync(join(stateDir, 'data', 'filed'), 'a file where a directory should be')
  const fns = [fnSpec('filed')]
  if (process.getuid?.() !== 0) { // root writes into 0500 directories anyway
    mkdirSync(join(stateDir, 'data', 'readonly'))
    chmodSync(join(stateDir, 'data', 'readonly'), 0o500)
    fns.push(fnSpec('readonly'))
  }
  const sup = await startSupervisor(t, { stateDir, functions: fns })
  for (const f of fns) {
    await waitState(sup, f.name, 'failed')
    assert.equal(sup.get(f.name)?.error?.code, 'FUNCTION_DATA_DIR_UNWRITABLE')
  }
})

test('failing health checks make a running function unhealthy (not routable) until they pass again', async (t) => {
  const sup = await startSupervisor(t, { unhealthyAfter: 2, functions: [fnSpec('flaky')] })
  await waitState(sup, 'flaky', 'running')
  writeFileSync(join(sup.dataDir('flaky'), 'sick'), '')
  await waitState(sup, 'flaky', 'unhealthy')
  assert.equal(sup.readyPort('flaky'), null)
  await import('node:fs/promises').then((fs) => fs.rm(join(sup.dataDir('flaky'), 'sick')))
  await waitState(sup, 'flaky', 'running')
  assert.ok(sup.readyPort('flaky') != null)
})

test('resources are sampled and exposed as metrics; start/stop one function', async (t) => {
  const sup = await startSupervisor(t, { functions: [fnSpec('busy'), fnSpec('other')] })
  await waitState(sup, 'busy', 'running')
  writeFileSync(join(sup.dataDir('busy'), 'blob'), Buffer.alloc(5000))
  await waitFor('sampled memory and data', () => { const s = sup.get('busy'); return s != null && s.memoryBytes > 0 && s.dataBytes >= 5000 && s.cpuSeconds > 0 })
  const text = formatPrometheus(sup.metrics())
  for (const name of ['up', 'restarts_total', 'cpu_seconds_total', 'memory_bytes', 'data_bytes', 'state']) assert.match(text, new RegExp(`organism_function_${name}\\{function="busy"`))
  assert.match(text, /organism_function_up\{function="busy"\} 1/)
  await sup.stopFunction('busy')
  assert.equal(sup.get('busy')?.state, 'stopped')
  assert.equal(sup.readyPort('busy'), null)
  assert.equal(sup.get('other')?.state, 'running')
  await sup.startFunction('busy')
  assert.equal(sup.get('busy')?.state, 'running')
  await assert.rejects(sup.startFunction('nope'), { code: 'FUNCTION_UNKNOWN' })
})
