// How many cells run each stateless function: the largest number a live cell asks for in its record, within the
// genome's bounds. This cell asks for one more when the division policy finds its instance too busy, and gives the
// extra ones up after the genome's quiet period (the rules are placement/instances.ts).
import type { Scheduler } from '../core/clock.ts'
import type { Startable } from '../core/lifecycle.ts'
import type { FunctionSpec } from '../genome/types.ts'
import type { CellView } from '../state/index.ts'
import { growAsk, instanceCount, nextAsk } from '../placement/index.ts'
import type { ScaleAsk, SpreadFunction } from '../placement/index.ts'
import type { InstanceGrowth } from '../divide/index.ts'

export interface InstanceScaler extends Startable {
  /** Each stateless function and how many cells should run it, from these cells' records and this cell's asks. */
  spread: (cells: readonly CellView[]) => SpreadFunction[]
  /** What this cell asks for now (its record carries it). */
  asks: () => Record<string, number>
  /** For the division policy: how each stateless function running here could grow. */
  growth: (cells: readonly CellView[], running: ReadonlySet<string>) => InstanceGrowth[]
  /** Ask for one more instance of fn than run now. */
  grow: (fn: string, cells: readonly CellView[]) => void
}

const TICK_MS = 5_000

export function createInstanceScaler (specs: readonly FunctionSpec[], o: { self: () => string, cells: () => readonly CellView[], rpsLimit: number | null, clock: Scheduler }): InstanceScaler {
  const spread = specs.filter((f) => f.instances != null)
  const asks = new Map<string, ScaleAsk>()
  const live = (cells: readonly CellView[]): CellView[] => cells.filter((c) => c.liveness !== 'dead' || c.peer === o.self())
  const count = (f: FunctionSpec, cells: readonly CellView[]): number => {
    const b = f.instances as NonNullable<FunctionSpec['instances']>
    const theirs = live(cells).filter((c) => c.peer !== o.self()).map((c) => c.record?.body.scale?.[f.name] ?? 0)
    return instanceCount(b.min, b.max, [...theirs, asks.get(f.name)?.count ?? 0])
  }
  const tick = (): void => {
    const cells = o.cells()
    for (const f of spread) {
      const b = f.instances as NonNullable<FunctionSpec['instances']>
      const serving = live(cells).filter((c) => c.record?.body.functions.includes(f.name) === true)
      const totalRps = serving.reduce((sum, c) => sum + (c.record?.body.traffic?.[f.name]?.rps ?? 0), 0)
      const next = nextAsk(asks.get(f.name), { now: o.clock.now(), min: b.min, scaleInAfterMs: b.scaleInAfterMs, current: Math.max(1, serving.length), totalRps, rpsLimit: o.rpsLimit })
      if (next == null) asks.delete(f.name)
      else asks.set(f.name, next)
    }
  }
  let stopTimer: (() => void) | null = null
  return {
    name: 'instance scaler',
    spread: (cells) => spread.map((f) => ({ fn: f.name, count: count(f, cells) })),
    asks: () => Object.fromEntries([...asks].map(([fn, a]) => [fn, a.count])),
    growth: (cells, running) => spread.filter((f) => running.has(f.name)).map((f) => {
      const n = count(f, cells)
      const max = f.instances?.max ?? n
      return { fn: f.name, grow: n >= max ? 'at-max' as const : n < live(cells).length ? 'instance' as const : 'host' as const, count: n, max }
    }),
    grow: (fn, cells) => {
      const f = spread.find((x) => x.name === fn)
      if (f?.instances == null) return
      asks.set(fn, growAsk(asks.get(fn), count(f, cells), f.instances.max))
    },
    start: async () => { stopTimer = o.clock.every(TICK_MS, tick) },
    stop: async () => { stopTimer?.(); stopTimer = null }
  }
}
