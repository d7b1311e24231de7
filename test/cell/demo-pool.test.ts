// The demo's pool where Debian's sshd is installed but its privilege separation directory is not there.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { privsepDirReady } from '../../src/cli/demo-pool.ts'

test('a missing /run/sshd is made as root, and otherwise named with the command that fixes it', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'organism-privsep-'))
  t.after(() => { rmSync(base, { recursive: true, force: true }) })
  const said: string[] = []
  assert.equal(await privsepDirReady(join(base, 'sshd'), false, (l) => said.push(l)), false)
  assert.match(said[0] ?? '', /sshd is installed but .*sshd \(its privilege separation directory\) is missing.*sudo mkdir -p/)
  assert.equal(await privsepDirReady(join(base, 'sshd'), true, (l) => said.push(l)), true)
  assert.ok(statSync(join(base, 'sshd')).isDirectory())
  assert.equal(await privsepDirReady(join(base, 'sshd'), false, (l) => said.push(l)), true, 'present: nothing to say')
  assert.equal(said.length, 1)
})
