// A started and stopped cell leaves nothing behind: no timer, socket or child process, and its process ends by itself.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { demoGenomeRepo } from '../helpers/organism.ts'

test('startCell then stop: every timer, socket and child is gone, and the process exits on its own', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'organism-teardown-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  // A silent "primary" DNS server: it swallows the cell's updates, so one is in flight at stop.
  const silent = createSocket('udp4')
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve))
  t.after(() => { silent.close() })
  const repo = await demoGenomeRepo(dir)
  const child = spawn(process.execPath, [new URL('./fixtures/start-stop.ts', import.meta.url).pathname, join(dir, 'state'), repo, String(silent.address().port)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { err += c.toString() })
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => { resolve(code) }))
  // Bounded: a cell that leaves a live handle never exits; the test then kills it and fails with what it printed.
  const timer = setTimeout(() => { child.kill('SIGKILL') }, 90_000)
  const code = await exit
  clearTimeout(timer)
  assert.equal(code, 0, `the child did not exit by itself (killed after 90 s) or failed:\n${out}\n${err.slice(-3000)}`)
  const report = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { before: string[], atStop: string[], after: string[], running: number, childrenWhileRunning: number, childrenAfter: number[] }
  t.diagnostic(`resources before start ${JSON.stringify(report.before)}; right after stop ${JSON.stringify(report.atStop)}; settled ${JSON.stringify(report.after)}`)
  assert.ok(report.running >= 5, `the demo's functions ran (${report.running})`)
  assert.ok(report.childrenWhileRunning >= 5, 'the functions were child processes while the cell ran')
  assert.deepEqual(report.childrenAfter, [], 'no child process is left')
  assert.deepEqual(report.after, report.before, 'no timer, socket or server is left')
})
