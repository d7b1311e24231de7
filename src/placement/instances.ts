// Where a stateless function's instances run (pure): the same cells on every member that sees the same live cells,
// without asking anyone (no store, no leader), and few of them change when a cell comes or goes.
import { createHash } from 'node:crypto'

/** A function that runs on several cells, and how many of them should run it now. */
export interface SpreadFunction { readonly fn: string, readonly count: number }

/**
 * The `count` cells that should run fn: the highest rendezvous scores (hash of fn and cell) among `cells`. A cell
 * that joins takes over about 1/n of the instances; one that dies gives up only its own.
 */
export function instanceCells (fn: string, cells: readonly string[], count: number): string[] {
  if (count <= 0) return []
  return [...new Set(cells)]
    .map((cell) => ({ cell, score: createHash('sha256').update(fn).update('\0').update(cell).digest('hex') }))
    .sort((a, b) => a.score < b.score ? 1 : a.score > b.score ? -1 : 0)
    .slice(0, count)
    .map((x) => x.cell)
}

/** How many instances run: the largest ask of a live cell (one that found it too busy), within the genome's bounds. */
export function instanceCount (min: number, max: number, asks: readonly number[]): number {
  return Math.min(max, Math.max(min, ...asks))
}

export interface SpreadInput {
  readonly self: string
  readonly fn: string
  readonly count: number
  /** Cells that may run an instance: members not dead (a suspect still counts; most suspects refute). */
  readonly cells: readonly string[]
  /** Whether a cell's own record says fn runs there (health passed). */
  readonly serves: (cell: string, fn: string) => boolean
}

export interface SpreadDecision {
  /** This cell should run an instance (chosen, or keeping one until the chosen cells serve). */
  readonly run: boolean
  /** Other cells that serve fn now: where a request may go when this cell has no instance ready. */
  readonly serving: readonly string[]
  readonly chosen: readonly string[]
}

/**
 * A cell runs an instance when it is chosen; one no longer chosen keeps its instance until every chosen cell serves,
 * so that a change of cells never leaves fewer instances serving than before.
 */
export function spreadDecision (input: SpreadInput): SpreadDecision {
  const chosen = instanceCells(input.fn, input.cells, input.count)
  const serving = input.cells.filter((c) => c !== input.self && input.serves(c, input.fn))
  const chosenServing = chosen.filter((c) => c !== input.self && input.serves(c, input.fn)).length
  const draining = !chosen.includes(input.self) && input.serves(input.self, input.fn) && chosenServing < chosen.length
  return { run: chosen.includes(input.self) || draining, serving, chosen }
}

/** What one cell asks for a function it found too busy: `count` instances, and since when the load has been low. */
export interface ScaleAsk { readonly count: number, readonly quietSince: number | null }

/** One more instance than run now (or than asked before), within `max`: asked when this cell's instance is too busy. */
export function growAsk (ask: ScaleAsk | undefined, current: number, max: number): ScaleAsk {
  return { count: Math.min(max, Math.max(ask?.count ?? 0, current) + 1), quietSince: null }
}

export interface QuietInput {
  readonly now: number
  readonly min: number
  readonly scaleInAfterMs: number
  /** Instances running now, and the requests/s all of them serve together. */
  readonly current: number
  readonly totalRps: number
  /** The genome's requests/s limit of a cell (division), or null. */
  readonly rpsLimit: number | null
}

/**
 * An ask is given up one instance at a time, each after `scaleInAfterMs` of quiet: the load would stay under half
 * the limit with one instance fewer (with no requests/s limit, quiet is no request at all). Undefined: no ask left.
 */
export function nextAsk (ask: ScaleAsk | undefined, input: QuietInput): ScaleAsk | undefined {
  if (ask == null) return undefined
  const fewer = Math.max(1, input.current - 1)
  const quiet = input.rpsLimit == null ? input.totalRps === 0 : input.totalRps / fewer < input.rpsLimit / 2
  if (!quiet) return ask.quietSince == null ? ask : { count: ask.count, quietSince: null }
  if (ask.quietSince == null) return { count: ask.count, quietSince: input.now }
  if (input.now - ask.quietSince < input.scaleInAfterMs) return ask
  return ask.count - 1 <= input.min ? undefined : { count: ask.count - 1, quietSince: input.now }
}
