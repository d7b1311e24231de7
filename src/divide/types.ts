// The shapes the division policy works on: samples of load, the sampler's memory, the decision.
import type { DivisionLimits } from '../genome/types.ts'

/** One reading of load, for one function or for the whole cell. */
export interface Measures {
  /** Requests per second (the router's sliding window). */
  readonly rps: number
  /** Distinct users (the router's estimate). */
  readonly users: number
  readonly dataBytes: number
  /** CPU in cores (1 = one core busy), not cumulative seconds. */
  readonly cpuCores: number
  readonly memoryBytes: number
}

export type MeasureName = keyof Measures

/** What the loop reads once per tick: each local function's load, and optionally the cell's own totals. */
export interface Sample {
  readonly functions: Readonly<Record<string, Measures>>
  /** Whole-cell totals; when absent they are the sums over `functions`. */
  readonly totals?: Measures
}

export interface TimedSample {
  readonly at: number
  readonly functions: Readonly<Record<string, Measures>>
  readonly totals: Measures
}

export interface SamplerState {
  /** How much history is kept (the genome's window when the sampler was made). */
  readonly keepMs: number
  /** Oldest first; only what the window needs. */
  readonly samples: readonly TimedSample[]
  /** When observe last saw the clock go backwards (history was dropped then), or null. */
  readonly clockWentBackAt: number | null
}

export interface DecideInput {
  readonly limits: DivisionLimits
  readonly now: number
  /** When this cell last divided, or null if it never did. */
  readonly lastDivisionAt: number | null
  readonly poolHasFreeHost: boolean
  /** Functions this cell runs itself: only these can be handed off. */
  readonly localFunctions: readonly string[]
  /** A division of this cell is under way. */
  readonly dividing: boolean
  /** Stateless functions running here, and how each could take more load (default: none). */
  readonly instances?: readonly InstanceGrowth[]
}

/**
 * How a function on several cells grows: one more instance on a cell that runs none (`instance`), a new cell for one
 * (`host`: every cell runs it), or not at all (`at-max`: it runs on as many cells as the genome allows).
 */
export interface InstanceGrowth { readonly fn: string, readonly grow: 'instance' | 'host' | 'at-max', readonly count: number, readonly max: number }

/** The genome's limit names, as in DivisionLimits. */
export type LimitName = 'requestsPerSecond' | 'distinctUsers' | 'dataBytes' | 'cpu' | 'memoryBytes'

export interface PassedLimit {
  readonly limit: LimitName
  /** The lowest cell total seen over the window: the level that was sustained. */
  readonly value: number
  readonly threshold: number
}

export interface DivideReason extends PassedLimit {
  /** The handed-off function's mean load over the window, by the same measure. */
  readonly load: number
  /** Plain words for `cell status`. */
  readonly text: string
}

/** Why the policy waits, for code; `reason` says it in words. */
export type WaitWhy = 'dividing' | 'cooldown' | 'no-limits' | 'collecting' | 'under' | 'last-function' | 'no-host'

export type Decision =
  | { readonly kind: 'divide', readonly function: string, readonly reason: DivideReason }
  /** A stateless function too busy here: ask for one more instance (on a cell that exists). */
  | { readonly kind: 'add-instance', readonly function: string, readonly reason: DivideReason }
  | { readonly kind: 'wait', readonly why: WaitWhy, readonly reason: string }
