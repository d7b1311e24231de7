// The loopback lab (what non-root users get): one sshd per host on 127.0.<lab>.<n>, the current user on each.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { userInfo } from 'node:os'
import { createLab } from '../../src/lab/index.ts'
import type { Lab } from '../../src/lab/index.ts'
import { isOrganismError } from '../../src/core/errors.ts'
import { leftovers, sshRun, testStateDir } from './helpers.ts'

describe('a loopback lab of 2 hosts', () => {
  const stateDir = testStateDir()
  let lab: Lab | undefined
  const get = (): Lab => { assert.ok(lab != null, 'lab was not created'); return lab }
  before(async () => { lab = await createLab({ hosts: 2, mode: 'loopback', stateDir }) })
  after(async () => {
    await lab?.destroy()
    rmSync(stateDir, { recursive: true, force: true })
  })

  test('hosts sit on their own loopback addresses and ports, each with its own dir', () => {
    const [h1, h2] = get().hosts
    assert.match(h1.address, /^127\.0\.\d+\.2$/)
    assert.match(h2.address, /^127\.0\.\d+\.3$/)
    assert.notEqual(h1.home, h2.home)
    assert.equal(h1.user, userInfo().username)
    assert.ok(h1.sshPort > 0 && h1.sshPort !== 22)
  })

  test('OpenSSH logs in with the pinned key and lands in the host\'s dir via exec', async () => {
    for (const h of get().hosts) {
      const r = await sshRun(get(), h, 'id -un; echo "$HOME"')
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, `${h.user}\n${h.home}\n`)
      const pwd = await get().exec(h.name, ['pwd'])
      assert.equal(pwd.stdout, `${h.home}\n`)
    }
  })

  test('cut and heal are not supported on loopback (typed error)', async () => {
    await assert.rejects(get().cut('h1'), (err) => isOrganismError(err, 'LAB_UNSUPPORTED'))
    await assert.rejects(get().heal('h1'), (err) => isOrganismError(err, 'LAB_UNSUPPORTED'))
  })

  test('destroy leaves no sshd, process or dir behind', async () => {
    const l = get()
    l.spawn('h2', ['sleep', '600'])
    await l.destroy()
    assert.deepEqual(leftovers(l.prefix, l.dir), [])
  })
})
