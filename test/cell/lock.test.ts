// The cell's state-directory lock: held by a live cell only; a dead cell's pid, a reused pid or a zombie frees it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { acquireLock, lockHolder } from '../../src/cell/lock.ts'
import { readStatSync } from '../../src/core/proc-stat.ts'

/** A zombie: `sleep 0` backgrounded by a shell that then becomes `sleep 10`, which never reaps it. */
async function zombie (): Promise<{ pid: number, parent: ReturnType<typeof spawn> }> {
  // The child ends after the shell has become \`sleep 10\`, which never reaps it (a child that ended before the exec
  // could be reaped by the shell on a loaded machine, and never be a zombie at all).
  const parent = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 10'], { stdio: ['ignore', 'pipe', 'ignore'] })
  const pid = await new Promise<number>((resolve) => parent.stdout.once('data', (d: Buffer) => { resolve(Number(String(d).trim())) }))
  for (let i = 0; i < 250 && readStatSync(pid)?.state !== 'Z'; i++) await new Promise((r) => setTimeout(r, 20))
  return { pid, parent }
}

test('the lock: taken by a live cell, refused to a second one, free after release', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cell-lock-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const file = join(dir, 'cell.lock')
  assert.equal(await lockHolder(file), null)
  const release = await acquireLock(file)
  assert.equal(await lockHolder(file), process.pid)
  // Another live process holding it: refused with the holder's pid.
  const other = spawn('sleep', ['10'], { stdio: 'ignore' })
  t.after(() => { other.kill('SIGKILL') })
  await new Promise((r) => other.once('spawn', r))
  await writeFile(file, JSON.stringify({ pid: other.pid, startTime: String(readStatSync(other.pid!)!.startTime) }))
  await assert.rejects(acquireLock(file), (err: Error & { code?: string }) => err.code === 'CELL_ALREADY_RUNNING' && err.message.includes(String(other.pid)))
  // The same pid with another start time is a reused pid, not the cell.
  await writeFile(file, JSON.stringify({ pid: other.pid, startTime: '1' }))
  assert.equal(await lockHolder(file), null)
  await release()
})

test('a killed cell that lingers as a zombie does not hold the lock (a restart after kill -9 must not be refused)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cell-lock-'))
  const z = await zombie()
  t.after(async () => { z.parent.kill('SIGKILL'); await rm(dir, { recursive: true, force: true }) })
  const stat = readStatSync(z.pid)
  assert.equal(stat?.state, 'Z', 'the fixture made a zombie')
  const file = join(dir, 'cell.lock')
  await writeFile(file, JSON.stringify({ pid: z.pid, startTime: String(stat!.startTime) }))
  assert.equal(await lockHolder(file), null)
  const release = await acquireLock(file)
  assert.equal(await lockHolder(file), process.pid)
  await release()
})
