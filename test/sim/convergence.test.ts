// The simulator at 200 cells, 1% loss: a change reaches all, the dead are found in the bound, the slow are not buried.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Sim } from './network.ts'

const N = 200
const BOUND_MS = 5000

test('one change reaches every one of 200 cells in under 1 s of simulated time, with 1% loss', () => {
  const sim = new Sim({ n: N, seed: 11, ownRecords: true })
  sim.runUntil(3000)
  for (const c of sim.cells) assert.equal(c.store.size, N, 'every cell has every cell record (joins spread too)')
  const got = new Map<number, number>()
  sim.onEvent((i, e, now) => { if (e.type === 'placement-changed' && e.fn === 'wiki' && !got.has(i)) got.set(i, now) })
  const t0 = sim.now
  sim.act(7, (e) => e.claimPlacement('wiki'))
  sim.runUntil(t0 + 1000)
  assert.equal(got.size, N)
  assert.ok(Math.max(...got.values()) - t0 < 1000)
})

test('a killed cell is declared dead by every other cell within the bound, and it never was before', () => {
  const sim = new Sim({ n: N, seed: 12 })
  const early: string[] = []
  sim.onEvent((_i, e) => { if (e.type === 'cell-dead') early.push(e.peer) })
  sim.runUntil(5000)
  assert.deepEqual(early, [], 'no one is declared dead while all are alive')
  const victim = 42
  const deadAt = new Map<number, number>()
  sim.onEvent((i, e, now) => { if (e.type === 'cell-dead' && e.peer === sim.ids[victim] && !deadAt.has(i)) deadAt.set(i, now) })
  const t0 = sim.now
  sim.kill(victim)
  sim.runUntil(t0 + BOUND_MS)
  assert.equal(deadAt.size, N - 1, 'every live cell saw it dead')
  assert.ok(Math.max(...deadAt.values()) - t0 <= BOUND_MS)
})

test('a slow cell (acks 200 ms late: after probeTimeout, within the probe interval) is never declared dead', () => {
  const sim = new Sim({ n: N, seed: 13 })
  const slow = 17
  sim.slowMs[slow] = 200
  let buried = 0
  sim.onEvent((_i, e) => { if (e.type === 'cell-dead') buried++ })
  sim.runUntil(20_000)
  assert.equal(buried, 0)
})

test('a cell that was dead comes back: it rejoins with a higher incarnation and catches up by anti-entropy', () => {
  const sim = new Sim({ n: N, seed: 14, ownRecords: true })
  sim.runUntil(2000)
  const victim = 99
  sim.kill(victim)
  sim.runUntil(2000 + BOUND_MS)
  // Changes it misses while dead.
  sim.act(3, (e) => e.claimPlacement('wiki'))
  sim.act(4, (e) => e.claimPlacement('forum'))
  sim.runUntil(8000)
  const alive = new Set<number>()
  sim.onEvent((i, e) => { if (e.type === 'cell-alive' && e.peer === sim.ids[victim]) alive.add(i) })
  sim.restart(victim)
  sim.runUntil(8000 + 5000)
  assert.equal(alive.size, N - 1, 'every other cell sees it alive again')
  assert.ok(sim.cells[victim].detector.inc > 0, 'it refuted its death with a higher incarnation')
  const store = sim.cells[victim].store
  assert.equal(store.size, N + 2, 'it has every cell record and both placements it missed')
})

test('a partition heals to one owner: the loser learns it lost', () => {
  const sim = new Sim({ n: 50, seed: 15 })
  sim.runUntil(1000)
  // Both sides claim at the same epoch before hearing of each other (as if cut off).
  const lost: number[] = []
  sim.onEvent((i, e) => { if (e.type === 'placement-lost') lost.push(i) })
  sim.act(1, (e) => e.claimPlacement('wiki', { epoch: 2 }))
  sim.act(2, (e) => e.claimPlacement('wiki', { epoch: 2 }))
  sim.runUntil(4000)
  const owners = new Set(sim.cells.map((c) => (c.store.get('placement/wiki')?.body as { owner: string }).owner))
  assert.equal(owners.size, 1)
  const winner = [...owners][0]
  assert.deepEqual(lost, [winner === sim.ids[1] ? 2 : 1])
})
