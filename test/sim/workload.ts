// A seeded run of faults and operator moves against simulated cells: moves of random functions to random cells,
// kill -9 of random cells (owners too), restarts, partitions that heal. Used by the safety test and the chaos bench.
import { SimCells } from './cells.ts'
import type { Claim, Violation } from './cells.ts'
import { fakeOperatorSigned } from './host.ts'

export interface ChaosOptions {
  n: number
  functions: number
  seed: number
  /** Simulated time of faults, then everything is healed and restarted and given settleMs to agree. */
  chaosMs: number
  settleMs?: number
  /** One operation every this many ms. */
  everyMs?: number
}

export interface ChaosReport {
  seed: number
  violations: Violation[]
  /** Every claim of the functions that had a violation, in order: what to read first when a seed fails. */
  evidence: Claim[]
  ops: Record<string, number>
  claims: number
  moves: { ok: number, failed: number }
  /** After settling: functions on whose placement every live cell agrees. */
  agreed: number
  /** After settling: functions left 'moving' (an owner died mid-move and nobody finished it). */
  stuckMoving: number
  simulatedMs: number
  wallMs: number
}

export async function runChaos (o: ChaosOptions): Promise<ChaosReport> {
  const wall0 = performance.now()
  const functions = Array.from({ length: o.functions }, (_, i) => `fn${i}`)
  const sim = new SimCells({ n: o.n, functions, seed: o.seed, ownRecords: true })
  const rng = sim.rng
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]
  const ops: Record<string, number> = { move: 0, cut: 0, kill: 0, restart: 0, partition: 0, heal: 0 }
  const moves = { ok: 0, failed: 0 }
  const pending: Array<Promise<void>> = []
  await sim.start()
  await sim.time.runUntil(2000)
  let healAt = Infinity
  const every = o.everyMs ?? 250
  for (let t = 2000; t < 2000 + o.chaosMs; t += every) {
    await sim.time.runUntil(t)
    if (t >= healAt) { sim.net.heal(); healAt = Infinity; ops.heal++ }
    const dead = sim.ids.slice(0, o.n).filter((id) => !sim.isAlive(id))
    const r = rng()
    if (r < 0.5) {
      // An operator's `cell move FN --to CELL`, typed at any live cell: it asks the owner it knows.
      const at = pick(sim.alive())
      const to = pick(sim.alive()).id
      const fn = pick(functions)
      ops.move++
      pending.push(at.mover.move(fn, to, { signed: fakeOperatorSigned({ fn, to, force: false }) }).then(() => { moves.ok++ }, () => { moves.failed++ }))
      // Half the moves lose the link between owner and target at a random step (open, data, start, result).
      const owner = sim.ownerAt(at.id, fn)?.owner
      if (owner != null && owner !== to && rng() < 0.5) {
        ops.cut++
        const cutAt = sim.time.now + rng() * 80
        sim.time.at(cutAt, () => { sim.net.cut(owner, to) })
        sim.time.at(cutAt + 500 + rng() * 2000, () => { sim.net.uncut(owner, to) })
      }
    } else if (r < 0.65 && dead.length < o.n / 10) {
      ops.kill++
      sim.kill(pick(sim.alive()).id)
    } else if (r < 0.85 && dead.length > 0) {
      ops.restart++
      await sim.restart(pick(dead))
    } else if ((r < 0.95 || (ops.partition === 0 && t >= 2000 + o.chaosMs / 3)) && healAt === Infinity) {
      // A random cut: a minority side of 10–40 % for 1–6 s.
      ops.partition++
      const share = 0.1 + rng() * 0.3
      const members = sim.ids.slice(0, o.n)
      const minority = members.filter(() => rng() < share)
      sim.net.partition([minority, members.filter((id) => !minority.includes(id))])
      healAt = t + 1000 + rng() * 5000
    }
  }
  sim.net.heal()
  for (const id of sim.ids.slice(0, o.n)) await sim.restart(id)
  const end = 2000 + o.chaosMs + (o.settleMs ?? 15_000)
  await sim.time.runUntil(end)
  await Promise.allSettled(pending)
  const views = sim.alive().map((c) => new Map(c.organism.placements().map((p) => [p.fn, `${p.owner}@${p.epoch}/${p.state}`])))
  const agreed = functions.filter((fn) => new Set(views.map((v) => v.get(fn))).size === 1).length
  const stuckMoving = functions.filter((fn) => sim.ownerAt(sim.alive()[0].id, fn)?.state === 'moving').length
  const broken = new Set(sim.history.violations.map((v) => v.fn))
  const evidence = sim.history.claims.filter((c) => broken.has(c.fn))
  return { seed: o.seed, violations: sim.history.violations, evidence, ops, claims: sim.history.claims.length, moves, agreed, stuckMoving, simulatedMs: end, wallMs: performance.now() - wall0 }
}
