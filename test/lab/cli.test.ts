// `npm run lab -- up/status/cut/heal/down` across separate commands, found again through the state file.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { run } from '../../src/lab/run.ts'
import { isRoot, leftovers, testStateDir } from './helpers.ts'

const main = new URL('../../src/lab/main.ts', import.meta.url).pathname

test('lab up 2, status, cut, heal, down', async (t) => {
  const stateDir = testStateDir()
  const lab = async (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> =>
    await run([process.execPath, main, ...args, '--state', stateDir], { timeoutMs: 60_000 })
  t.after(async () => {
    await lab('down')
    rmSync(stateDir, { recursive: true, force: true })
  })
  const up = await lab('up', '2')
  assert.equal(up.code, 0, up.stderr)
  assert.match(up.stdout, /h1 .* answers\n.*h2 .* answers/s)

  const again = await lab('up', '2')
  assert.equal(again.code, 1)
  assert.match(again.stderr, /LAB_ALREADY_UP/)

  const status = JSON.parse((await lab('status', '--json')).stdout) as { prefix: string, dir: string, hosts: Array<{ name: string, answers: boolean, link: string, fingerprint: string }> }
  assert.deepEqual(status.hosts.map((h) => [h.name, h.answers]), [['h1', true], ['h2', true]])
  assert.ok(status.hosts.every((h) => h.fingerprint.startsWith('SHA256:')))

  if (isRoot) {
    assert.equal((await lab('cut', 'h2')).code, 0)
    const cut = JSON.parse((await lab('status', '--json')).stdout) as typeof status
    assert.deepEqual(cut.hosts.map((h) => [h.name, h.link, h.answers]), [['h1', 'up', true], ['h2', 'cut', false]])
    assert.equal((await lab('heal', 'h2')).code, 0)
    const healed = JSON.parse((await lab('status', '--json')).stdout) as typeof status
    assert.deepEqual(healed.hosts.map((h) => [h.name, h.link, h.answers]), [['h1', 'up', true], ['h2', 'up', true]])
  } else {
    const cut = await lab('cut', 'h2')
    assert.equal(cut.code, 1)
    assert.match(cut.stderr, /LAB_UNSUPPORTED/)
  }

  const down = await lab('down')
  assert.equal(down.code, 0, down.stderr)
  assert.match(down.stdout, new RegExp(`removed ${status.prefix}\\b`))
  assert.deepEqual(leftovers(status.prefix, status.dir), [])
  const none = await lab('status')
  assert.equal(none.code, 1)
  assert.match(none.stderr, /LAB_NOT_UP/)
})
