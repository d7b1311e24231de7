// A power cut: two cells on this machine, forum moved to the second, a write at each; both killed -9 at once and
// started again with the same commands. Within 30 s every function answers through both cells with its data.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { TestOrganism } from '../helpers/organism.ts'
import { request, runCli, waitFor } from '../helpers/cell-process.ts'

const org = await TestOrganism.create()
after(() => org.destroy())
const FUNCTIONS: Array<[string, string]> = [['catalog', '/courses'], ['people', '/people'], ['grades', '/grades/2'], ['forum', '/courses/cs101/posts'], ['media', '/files']]

test('both cells killed -9 and started again: every function is served through both, with the data written before', async (t) => {
  const alpha = await org.start('alpha', 1)
  const beta = await org.start('beta', 2)
  await org.converged(2)
  const moved = await runCli(['move', 'forum', '--to', 'beta', '--state', alpha.state])
  assert.equal(moved.code, 0, moved.stderr)
  const [a, b] = [await alpha.status(), await beta.status()]
  const post = await request(b.router.port, 'forum.campus.test', '/courses/cs101/posts', { method: 'POST', body: JSON.stringify({ author: 'ada', text: 'before the power cut' }), address: beta.address })
  assert.equal(post.status, 201, post.body)
  const grade = await request(a.router.port, 'grades.campus.test', '/grades', { method: 'POST', body: JSON.stringify({ student: 2, course: 'cs101', grade: 5 }), address: alpha.address })
  assert.equal(grade.status, 201, grade.body)

  for (const c of [alpha, beta]) c.proc.child.kill('SIGKILL')
  await Promise.all([alpha.proc.exited, beta.proc.exited])
  const restartedAt = Date.now()
  await Promise.all([org.restart(alpha), org.restart(beta)])
  for (const cell of [alpha, beta]) {
    await waitFor(`${cell.name} serves every function again`, async () => {
      const s = await cell.status()
      for (const [fn, path] of FUNCTIONS) {
        const r = await request(s.router.port, `${fn}.campus.test`, path, { address: cell.address })
        if (r.status !== 200) return false
      }
      return true
    }, { tries: 300, everyMs: 100 })
  }
  const seconds = (Date.now() - restartedAt) / 1000
  t.diagnostic(`every function served through both cells ${seconds.toFixed(1)} s after both were started again`)
  assert.ok(seconds < 30, `served again ${seconds.toFixed(1)} s after the restart`)
  for (const cell of [alpha, beta]) {
    const s = await cell.status()
    const posts = await request(s.router.port, 'forum.campus.test', '/courses/cs101/posts', { address: cell.address })
    assert.ok(posts.body.includes('before the power cut'), `${cell.name} serves the forum post: ${posts.body}`)
    const grades = await request(s.router.port, 'grades.campus.test', '/grades/2', { address: cell.address })
    assert.ok(grades.body.includes('cs101'), `${cell.name} serves the grade: ${grades.body}`)
    assert.equal(s.placements.find((p) => p.fn === 'forum')?.ownerName, 'beta', 'forum stayed where it was moved')
  }
})
