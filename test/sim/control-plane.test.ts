// Whole control planes simulated (state, SWIM, placements, reconcile, moves, the division policy) on fake time and a
// fake network: one owner per epoch through kills, cuts, partitions and heals, checked over every claim ever made.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setLogSink } from '../../src/core/log.ts'
import { SimCells } from './cells.ts'
import { runChaos } from './workload.ts'
import { fakeOperatorSigned } from './host.ts'

setLogSink(() => {})

const FIXED_SEED = 20261201
const RANDOM_SEED = Number(process.env.SIM_SEED ?? Math.floor(Math.random() * 2 ** 31))

for (const [kind, seed] of [['fixed', FIXED_SEED], ['random', RANDOM_SEED]] as const) {
  test(`100 cells, 30 s of moves, kills, restarts, cut links and partitions: no epoch of a function ever has two owners (${kind} seed ${seed})`, async (t) => {
    const r = await runChaos({ n: 100, functions: 8, seed, chaosMs: 30_000 })
    t.diagnostic(`seed ${seed}: ${JSON.stringify(r.ops)}; moves ${r.moves.ok} done, ${r.moves.failed} failed; ${r.claims} claims; ${r.agreed}/8 placements agreed after healing, ${r.stuckMoving} left moving; ${(r.simulatedMs / 1000).toFixed(0)} s simulated in ${(r.wallMs / 1000).toFixed(1)} s`)
    const again = `rerun with SIM_SEED=${seed} npm run test:unit`
    assert.ok(r.ops.move > 20 && r.ops.kill > 2 && r.ops.partition >= 1 && r.ops.cut > 5, `the run exercised every fault (${JSON.stringify(r.ops)})`)
    assert.ok(r.moves.ok > 5, 'some moves succeed between the faults')
    assert.deepEqual(r.violations, [], `two owners in one epoch; ${again}; the claims of those functions: ${JSON.stringify(r.evidence)}`)
    assert.equal(r.agreed, 8, `after healing, every live cell agrees on every placement; ${again}`)
  })
}

test('a move whose answer is lost still completes once: the store says the receiver took it, so the owner drops its copy and cannot hand it on', async () => {
  const sim = new SimCells({ n: 6, functions: ['forum'], seed: 5, loss: 0 })
  await sim.start()
  await sim.time.runUntil(2000)
  const [a, b, c] = sim.ids
  const cellA = sim.cells.get(a)!
  cellA.host.write('forum', 1)
  // The instant b takes forum, a and c are cut off with each other: b's answer never reaches a.
  sim.history.onClaim((claim) => {
    if (claim.cell === b && claim.fn === 'forum' && claim.state === 'serving') sim.net.partition([[a, c], sim.ids.filter((id) => id !== a && id !== c)])
  })
  const first = cellA.mover.move('forum', b).then((r) => `moved@${r.epoch}`, (err: { code?: string }) => err.code ?? 'failed')
  await sim.time.runUntil(3000)
  assert.equal(await sim.time.until(first), 'moved@2', 'a\'s abort was refused, and a read that b completed')
  assert.deepEqual(sim.cells.get(b)!.host.data.get(`/${b}/forum`), [1], 'b has the data')
  assert.equal(cellA.host.data.has(`/${a}/forum`), false, 'a dropped its copy')
  const second = cellA.mover.move('forum', c, { signed: fakeOperatorSigned({ fn: 'forum', to: c, force: false }) }).then(() => 'moved', (err: { code?: string }) => err.code ?? 'failed')
  await sim.time.runUntil(4000)
  assert.equal(await sim.time.until(second), 'PEERS_REQUEST_FAILED', 'a knows it no longer owns forum: it asks the owner b, which it cannot reach')
  sim.net.heal()
  await sim.time.runUntil(10_000)
  assert.deepEqual(sim.history.violations, [], `claims: ${JSON.stringify(sim.history.claims)}`)
  const owners = new Set(sim.alive().map((x) => `${sim.ownerAt(x.id, 'forum')?.owner}@${sim.ownerAt(x.id, 'forum')?.epoch}`))
  assert.deepEqual([...owners], [`${b}@2`])
})

test('an owner killed -9 in the middle of its hand-off aborts it when it starts again, and serves the function again', async () => {
  const sim = new SimCells({ n: 4, functions: ['forum'], seed: 7, loss: 0 })
  await sim.start()
  await sim.time.runUntil(2000)
  const [a, b] = sim.ids
  // The instant the hand-off is marked in the store, the owner dies: no data ever leaves it.
  sim.history.onClaim((c) => { if (c.cell === a && c.state === 'moving') sim.kill(a) })
  void sim.cells.get(a)!.mover.move('forum', b).catch(() => {})
  await sim.time.runUntil(3000)
  assert.equal(sim.ownerAt(b, 'forum')?.state, 'moving', 'left moving: nobody serves forum')
  await sim.restart(a)
  await sim.time.runUntil(5000)
  for (const c of sim.alive()) assert.deepEqual(sim.ownerAt(c.id, 'forum'), { owner: a, epoch: 1, state: 'serving' }, `${c.id} sees forum served by its owner again`)
  assert.equal(sim.cells.get(a)!.host.running('forum'), true)
  assert.deepEqual(sim.history.violations, [])
})
