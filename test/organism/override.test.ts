// `cell move` typed at a cell that does not own the function is an operator's override: signed by the CLI with a
// key the genome's allowed_signers lists, checked by the owner. Without it, or with another key, nothing moves.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { TestOrganism } from '../helpers/organism.ts'
import { request, runCli, waitFor } from '../helpers/cell-process.ts'

const org = await TestOrganism.create()
after(() => org.destroy())

test('a move asked at a non-owner needs the operator\'s signature; with it the owner hands the function over', async () => {
  const alpha = await org.start('alpha', 1)
  const beta = await org.start('beta', 2)
  await org.converged(2)
  const stranger = join(org.dir, 'stranger')
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger])

  const missing = await runCli(['move', 'forum', '--to', 'beta', '--state', beta.state, '--key', join(org.dir, 'no-such-key')])
  assert.notEqual(missing.code, 0)
  assert.match(missing.stderr, /GENOME_OVERRIDE_UNSIGNED[\s\S]*no-such-key[\s\S]*hint:.*--key/)
  const wrong = await runCli(['move', 'forum', '--to', 'beta', '--state', beta.state, '--key', stranger])
  assert.notEqual(wrong.code, 0)
  assert.match(wrong.stderr, /not in the genome's allowed_signers/)
  assert.equal((await alpha.status()).placements.find((p) => p.fn === 'forum')?.ownerName, 'alpha', 'nothing moved')

  const signed = await runCli(['move', 'forum', '--to', 'beta', '--state', beta.state, '--key', join(org.dir, 'key')])
  assert.equal(signed.code, 0, signed.stderr)
  await waitFor('beta owns forum', async () => (await alpha.status()).placements.find((p) => p.fn === 'forum')?.ownerName === 'beta', { tries: 50 })
  assert.ok((await alpha.status()).events.some((e) => /move of forum asked through .* signed by owner@campus\.test/.test(e.text)), 'the owner notes who signed it')
})

test('cell expel: signed by an operator key, the cell is no member anywhere, its functions are taken over with their writes; an intruder key expels nobody', async () => {
  const alpha = org.cells.find((c) => c.name === 'alpha') ?? await org.start('alpha', 1)
  const beta = org.cells.find((c) => c.name === 'beta') ?? await org.start('beta', 2)
  const gamma = await org.start('gamma', 3)
  await org.converged(3)
  const stranger = join(org.dir, 'stranger-expel')
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger])
  const member = async (cell: typeof alpha, name: string): Promise<boolean> => (await cell.status()).members.some((m) => m.name === name)
  // gamma serves forum, with a replica on another cell, and acknowledges a write.
  const moved = await runCli(['move', 'forum', '--to', 'gamma', '--state', alpha.state, '--key', join(org.dir, 'key')])
  assert.equal(moved.code, 0, moved.stderr)
  await waitFor('forum at gamma has a replica', async () => (await alpha.status()).placements.find((p) => p.fn === 'forum')?.replicaName != null, { tries: 150, everyMs: 200 })
  const port = (await alpha.status()).router.port
  const posted = await request(port, 'forum.campus.test', '/courses/cs101/posts', { method: 'POST', body: JSON.stringify({ author: 'ada', text: 'acknowledged before the expulsion' }), address: alpha.address })
  assert.equal(posted.status, 201, posted.body)

  const wrong = await runCli(['expel', 'gamma', '--state', alpha.state, '--key', stranger])
  assert.notEqual(wrong.code, 0)
  assert.match(wrong.stderr, /PEERS_EXPULSION_INVALID[\s\S]*not in the genome's allowed_signers/)
  assert.equal(await member(beta, 'gamma'), true, 'nobody was expelled')
  const self = await runCli(['expel', 'alpha', '--state', alpha.state, '--key', join(org.dir, 'key')])
  assert.match(self.stderr, /cannot expel itself/)

  const signed = await runCli(['expel', 'gamma', '--state', alpha.state, '--key', join(org.dir, 'key')])
  assert.equal(signed.code, 0, signed.stderr)
  assert.match(signed.stdout, /expelled gamma/)
  for (const cell of [alpha, beta]) await waitFor(`${cell.name} no longer lists gamma`, async () => !(await member(cell, 'gamma')), { tries: 100 })
  assert.ok((await beta.status()).events.some((e) => /gamma is no longer a member/.test(e.text)))
  // gamma still runs and holds its lease, but counts for nothing: its replica takes forum over, with the write.
  await waitFor('forum is served by a member again', async () => ['alpha', 'beta'].includes((await alpha.status()).placements.find((p) => p.fn === 'forum')?.ownerName ?? ''), { tries: 150, everyMs: 200 })
  const read = await waitFor('forum answers', async () => { const r = await request(port, 'forum.campus.test', '/courses/cs101/posts', { address: alpha.address }); return r.status === 200 ? r : null }, { tries: 100, everyMs: 200 })
  assert.ok(read.body.includes('acknowledged before the expulsion'), 'the acknowledged write survived the expulsion of its owner')
  assert.ok((await alpha.status()).events.some((e) => /forum taken over from gamma \(it was expelled/.test(e.text)) || (await beta.status()).events.some((e) => /forum taken over from gamma \(it was expelled/.test(e.text)))
  // beta restarts from its saved membership: the expulsion comes back with it, checked again.
  beta.proc.child.kill('SIGTERM')
  await beta.proc.exited
  await org.restart(beta)
  await waitFor('beta is back and sees alpha', async () => (await beta.status()).members.some((m) => m.name === 'alpha' && m.liveness === 'alive'), { tries: 200 })
  assert.equal(await member(beta, 'gamma'), false)
  gamma.proc.child.kill('SIGKILL')
  await gamma.proc.exited
})
