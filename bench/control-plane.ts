// The whole control plane of N simulated cells (real organism, mover, reconciler, division driver; fake hosts, time
// and network; one ownership store for all, consistent and without delay, as etcd with its majority is): messages per cell per second, a death until every cell routes to the new owner, a division decision
// until every cell routes to the new cell. Printed by bench/sim.ts.
import { setLogSink } from '../src/core/log.ts'
import { SimCells } from '../test/sim/cells.ts'
import type { SimCell } from '../test/sim/cells.ts'

const STEP_MS = 10

/** Runs the simulation in small steps until probe() holds (or the bound passes); the time it held, or null. */
async function until (sim: SimCells, boundMs: number, probe: () => boolean): Promise<number | null> {
  const end = sim.time.now + boundMs
  while (sim.time.now < end) {
    if (probe()) return sim.time.now
    await sim.time.runUntil(sim.time.now + STEP_MS)
  }
  return probe() ? sim.time.now : null
}

export async function controlPlaneBench (n: number, seed: number): Promise<string[]> {
  setLogSink(() => {})
  const wall0 = performance.now()
  const functions = Array.from({ length: 10 }, (_, i) => `fn${i}`)
  const sim = new SimCells({
    n, spare: 1, functions, seed,
    division: { requestsPerSecond: 20, distinctUsers: null, dataBytes: null, cpu: null, memoryBytes: null, windowMs: 10_000, cooldownMs: 60_000 }
  })
  await sim.start()
  await sim.time.runUntil(3000)
  const cell = (i: number): SimCell => sim.cells.get(sim.ids[i])!
  // Spread the functions, one move after another: fn<i> to cell i, and fn9 to cell 3 too (a cell keeps its last
  // function, so the cell that divides below needs two).
  const home = (i: number): number => i === 9 ? 3 : i
  for (let i = 1; i < functions.length; i++) {
    const moved = cell(0).mover.move(`fn${i}`, sim.ids[home(i)])
    await until(sim, 5000, () => sim.allRouteTo(`fn${i}`, sim.ids[home(i)]))
    await moved
  }
  const lines: string[] = []
  const sentBefore = [...sim.net.sent.values()].reduce((a, b) => a + b, 0)
  const t0 = sim.time.now
  await sim.time.runUntil(t0 + 5000)
  const sent = [...sim.net.sent.values()].reduce((a, b) => a + b, 0) - sentBefore
  lines.push(`  messages per cell per second, steady: ${(sent / n / 5).toFixed(1)} (state sync over the member link; no gossipsub in the simulation)`)

  // A cell dies. The first cell that sees it dead takes its function over (an operator's `cell move --force`:
  // automatic takeover is the next issue's), and every cell must route to it.
  const victim = sim.ids[7]
  const killedAt = sim.time.now
  sim.kill(victim)
  let taker: SimCell | null = null
  const seenDead = await until(sim, 30_000, () => {
    taker = sim.alive().find((c) => c.organism.liveness(victim) === 'dead') ?? null
    return taker != null
  })
  if (seenDead == null || taker == null) {
    lines.push('  death: no cell declared the killed cell dead within 30 s')
  } else {
    const t = taker as SimCell
    void t.mover.move('fn7', t.id, { force: true }).catch(() => {})
    const agreed = await until(sim, 30_000, () => sim.allRouteTo('fn7', t.id))
    lines.push(`  a cell's death to every cell routing its function to the new owner: ${agreed == null ? '— (not within 30 s)' : `${((agreed - killedAt) / 1000).toFixed(2)} s`} simulated (first declared dead after ${((seenDead - killedAt) / 1000).toFixed(2)} s, the takeover then reached all in ${agreed == null ? '—' : `${(agreed - seenDead).toFixed(0)} ms`}: the simulated ownership store reaches every cell's view at once, as an etcd watch does in ~1 ms on a LAN)`)
  }

  // A division: cell 3's function gets 100 requests/s against a limit of 20; the driver decides, grows onto the spare
  // cell (the imprint itself is not simulated: bench:divide measures it) and moves fn3 there.
  cell(3).host.rps = (fn) => fn === 'fn3' ? 100 : 0
  const decided = await until(sim, 60_000, () => cell(3).divisions.length > 0)
  if (decided == null) {
    lines.push(`  division: the policy did not decide within 60 s (${cell(3).driver?.lastDecision() ?? ''})`)
  } else {
    const to = cell(3).divisions[0].to
    const routed = await until(sim, 30_000, () => sim.allRouteTo('fn3', to))
    lines.push(`  a division decision to every cell routing to the new cell: ${routed == null ? '— (not within 30 s)' : `${(routed - decided).toFixed(0)} ms`} simulated (join, the move with its data, the new placement spread)`)
  }
  lines.push(`  one owner per epoch over ${sim.history.claims.length} claims: ${sim.history.violations.length === 0 ? 'held' : `${sim.history.violations.length} violations`}`)
  lines.push(`  wall time ${((performance.now() - wall0) / 1000).toFixed(1)} s for ${(sim.time.now / 1000).toFixed(0)} s simulated (${sim.time.fired} timer callbacks)`)
  return lines
}
