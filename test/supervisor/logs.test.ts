// Function logs: lines with time and stream, size rotation, tail across rotated files, follow across rotation.
import { test } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { RotatingLog, readLog } from '../../src/supervisor/logfile.ts'
import { fnSpec, getText, startSupervisor, tempDir, waitFor, waitState } from './helpers.ts'

async function collect (it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const l of it) out.push(l)
  return out
}

test('the writer prefixes lines, keeps partial lines until their newline, and rotates by size', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'f.log')
  const log = new RotatingLog(path, { maxBytes: 200, keep: 2 })
  log.write('out', 'hel')
  log.write('out', 'lo\nwor')
  log.flush('out')
  const lines = await collect(readLog(path, { lines: 10 }))
  assert.equal(lines.length, 2)
  assert.match(lines[0], /^\d{4}-\d\d-\d\dT\S+Z out hello$/)
  assert.match(lines[1], / out wor$/)
  for (let i = 0; i < 40; i++) log.line('err', `line ${i}`)
  log.close()
  assert.deepEqual(readdirSync(dir).sort(), ['f.log', 'f.log.1', 'f.log.2'])
  for (const f of readdirSync(dir)) assert.ok(statSync(join(dir, f)).size <= 200)
  const tail = await collect(readLog(path, { lines: 8, keep: 2 }))
  assert.deepEqual(tail.map((l) => l.split(' ').slice(1).join(' ')), Array.from({ length: 8 }, (_, i) => `err line ${32 + i}`))
})

/** A log with one line, followed from its last line by a reader that looks every pollMs; `stop` ends the reader. */
async function followed (t: TestContext, o: { keep: number, pollMs: number }): Promise<{ path: string, log: RotatingLog, seen: string[], stop: () => Promise<void> }> {
  const path = join(tempDir(t), 'f.log')
  const log = new RotatingLog(path, { maxBytes: 300, keep: o.keep })
  t.after(() => log.close())
  log.line('out', 'before')
  const ac = new AbortController()
  t.after(() => ac.abort())
  const seen: string[] = []
  const following = (async () => { for await (const l of readLog(path, { lines: 1, follow: true, signal: ac.signal, pollMs: o.pollMs, keep: o.keep })) seen.push(l.split(' ').slice(1).join(' ')) })()
  await waitFor('the tail', () => seen.length === 1)
  return { path, log, seen, stop: async () => { ac.abort(); await following } }
}

const thirtyLines = ['out before', ...Array.from({ length: 30 }, (_, i) => `out n${i}`)]

test('follow yields new lines and keeps going across a rotation', async (t) => {
  const { path, log, seen, stop } = await followed(t, { keep: 3, pollMs: 20 })
  for (let i = 0; i < 30; i++) { log.line('out', `n${i}`); if (i % 5 === 0) await new Promise((r) => setTimeout(r, 30)) }
  await waitFor(`all lines (${seen.length})`, () => seen.length === 31)
  assert.ok(existsSync(path + '.1'), 'the file rotated while followed')
  assert.deepEqual(seen, thirtyLines)
  await stop()
})

test('follow loses no line when the log rotates several times between two looks', async (t) => {
  // A slow reader: it looks every 400 ms, and 30 lines (about four rotations) are written at once in between.
  const { path, log, seen, stop } = await followed(t, { keep: 8, pollMs: 400 })
  for (let i = 0; i < 30; i++) log.line('out', `n${i}`)
  assert.ok(existsSync(path + '.3'), 'the file rotated at least three times')
  await waitFor(`all lines (${seen.length})`, () => seen.length >= 31)
  assert.deepEqual(seen, thirtyLines)
  await stop()
})

test('a function\'s stdout and stderr land in its log, rotate, and can be followed through the supervisor', async (t) => {
  const sup = await startSupervisor(t, { logMaxBytes: 4096, logKeep: 2, functions: [fnSpec('chatty', { env: { SPAM_LINES: '200' } })] })
  await waitState(sup, 'chatty', 'running')
  const stateDir = join(sup.dataDir('chatty'), '..', '..')
  assert.ok(existsSync(join(stateDir, 'logs', 'chatty.log.1')))
  assert.ok(!existsSync(join(stateDir, 'logs', 'chatty.log.3')))
  const last = await collect(sup.logs('chatty', { lines: 3 }))
  assert.equal(last.length, 3)
  assert.ok(last.some((l) => / out hello from chatty on \d+$/.test(l)), last.join('\n'))
  const ac = new AbortController()
  t.after(() => ac.abort())
  const seen: string[] = []
  const following = (async () => { for await (const l of sup.logs('chatty', { lines: 0, follow: true, signal: ac.signal })) seen.push(l) })()
  // The follower starts asynchronously: keep making requests until one of their lines shows up.
  await waitFor('a request line', async () => {
    await getText(sup.readyPort('chatty') as number, '/log')
    return seen.some((l) => / out request line \d+$/.test(l))
  })
  ac.abort()
  await following
})
