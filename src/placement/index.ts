// Who owns what: pure decisions from the organism's placements and the liveness of its cells.
//
//   const plan = placementPlan({ self, functions: ['catalog', 'grades'], placements, liveness })
//   plan.route('catalog')   // { kind: 'local', epoch } | { kind: 'remote', cell } | { kind: 'unavailable', … }
//   plan.local              // the functions this cell must run now
//   resolveCell(cells, 'beta')  // which cell a name means (rules.ts)
import type { Liveness, PlacementView } from '../state/types.ts'
import { spreadDecision } from './instances.ts'
import type { SpreadDecision, SpreadFunction } from './instances.ts'

export type { Liveness, PlacementView }
export { resolveCell, nameOf, shortId, MIN_ID_PART } from './rules.ts'
export type { Refusal, CellRef } from './rules.ts'
export { instanceCells, instanceCount, spreadDecision, growAsk, nextAsk } from './instances.ts'
export type { SpreadFunction, SpreadDecision, ScaleAsk } from './instances.ts'

export type Route =
  /** `epoch`: the placement's, what a write here is accepted at. */
  | { readonly kind: 'local', readonly epoch: number }
  | { readonly kind: 'remote', readonly cell: string }
  /** A stateless function on several cells: this one (if `local`: it should run an instance) and `cells`. */
  | { readonly kind: 'spread', readonly local: boolean, readonly cells: readonly string[] }
  | { readonly kind: 'unavailable', readonly reason: string, readonly retryAfterSeconds: number }

export interface PlanInput {
  readonly self: string
  /** The genome's functions, in genome order. */
  readonly functions: readonly string[]
  readonly placements: ReadonlyMap<string, PlacementView>
  readonly liveness: (cell: string) => Liveness | 'unknown'
  /** Functions that run on several cells (not in `functions`, never in the ownership store). */
  readonly spread?: readonly SpreadFunction[]
  /** Members that are not dead, self included: where instances may run. */
  readonly cells?: readonly string[]
  /** Whether a cell's own record says fn runs there. */
  readonly serves?: (cell: string, fn: string) => boolean
}

export interface Plan {
  /** Functions whose placement names this cell as owner and that are not being moved away. */
  readonly local: ReadonlySet<string>
  /** The functions of `local` this cell owns alone (what it may hand to another cell). */
  readonly owned: ReadonlySet<string>
  /** Where each stateless function's instances run, as this cell decided. */
  readonly spread: ReadonlyMap<string, SpreadDecision>
  route: (fn: string) => Route
}

/** The founding cell owns every function at epoch 1. */
export function genesisPlacements (self: string, functions: readonly string[]): PlacementView[] {
  return functions.map((fn) => ({ fn, owner: self, epoch: 1, state: 'serving', version: 0 }))
}

export function placementPlan (input: PlanInput): Plan {
  const local = new Set<string>()
  const routes = new Map<string, Route>()
  for (const fn of input.functions) {
    const p = input.placements.get(fn)
    let route: Route
    if (p == null) {
      route = { kind: 'unavailable', reason: `no cell has claimed ${fn} yet`, retryAfterSeconds: 2 }
    } else if (p.state === 'moving') {
      route = { kind: 'unavailable', reason: `${fn} is moving to another cell`, retryAfterSeconds: 1 }
    } else if (p.owner === input.self) {
      route = { kind: 'local', epoch: p.epoch }
      local.add(fn)
    } else {
      const live = input.liveness(p.owner)
      // A suspect owner still gets traffic: suspicion is not death, and most suspects refute.
      route = live === 'dead' || live === 'unknown'
        ? { kind: 'unavailable', reason: `the cell that owns ${fn} is ${live === 'dead' ? 'dead' : 'not known here yet'}`, retryAfterSeconds: 5 }
        : { kind: 'remote', cell: p.owner }
    }
    routes.set(fn, route)
  }
  const owned = new Set(local)
  const spread = new Map<string, SpreadDecision>()
  for (const s of input.spread ?? []) {
    const d = spreadDecision({ self: input.self, fn: s.fn, count: s.count, cells: input.cells ?? [input.self], serves: input.serves ?? (() => false) })
    spread.set(s.fn, d)
    if (d.run) local.add(s.fn)
    routes.set(s.fn, { kind: 'spread', local: d.run, cells: d.serving })
  }
  const unknown: Route = { kind: 'unavailable', reason: 'not a function of this organism', retryAfterSeconds: 30 }
  return { local, owned, spread, route: (fn) => routes.get(fn) ?? unknown }
}

/** What the supervisor must change so that it runs exactly the plan's local functions. */
export function reconcile (running: ReadonlySet<string>, plan: Plan): { start: string[], stop: string[] } {
  return {
    start: [...plan.local].filter((fn) => !running.has(fn)),
    stop: [...running].filter((fn) => !plan.local.has(fn))
  }
}
