// The supervisor's public types: a function's status as others see it, and the options a cell passes in.
import type { Clock } from '../core/clock.ts'
import type { Startable } from '../core/lifecycle.ts'
import type { MetricFamily } from '../core/prometheus.ts'
import type { FunctionSpec } from '../genome/types.ts'
import type { BackoffOptions } from './backoff.ts'
import type { FunctionState } from './transitions.ts'
import type { Confinement } from './confine.ts'
import type { Replay } from './trial.ts'

export type { FunctionState }

export interface FunctionError {
  readonly code: string
  readonly message: string
  readonly hint: string
}

export interface FunctionStatus {
  readonly name: string
  readonly state: FunctionState
  readonly port: number | null
  readonly pid: number | null
  /** Restarts after a crash (not counting starts asked for by startFunction). */
  readonly restarts: number
  /** When the function entered its current state (clock ms). */
  readonly since: number
  readonly lastExit: { readonly code: number | null, readonly signal: string | null, readonly at: number } | null
  readonly error: FunctionError | null
  readonly nextRestartAt: number | null
  /** CPU seconds used by the function's process groups, summed over its runs in this cell. */
  readonly cpuSeconds: number
  readonly memoryBytes: number
  readonly dataBytes: number
}

export interface SupervisorOptions {
  readonly stateDir: string
  readonly functions: readonly FunctionSpec[]
  /** Genome commit id: setup runs once per version per function. */
  readonly genomeVersion: string
  readonly zone: string
  readonly clock?: Clock
  /** Health check period while running (default 2000). */
  readonly healthIntervalMs?: number
  /** Consecutive failed checks before `unhealthy` (default 3). */
  readonly unhealthyAfter?: number
  /** A function not healthy this long after spawn is killed and `failed` (default 30000). */
  readonly startTimeoutMs?: number
  /** Setup commands are killed after this long (default 600000). */
  readonly setupTimeoutMs?: number
  /** Time between SIGTERM and SIGKILL when stopping (default 10000). */
  readonly stopGraceMs?: number
  readonly backoff?: Partial<BackoffOptions>
  /** Resource sampling period (default 5000). */
  readonly sampleIntervalMs?: number
  /** Log rotation: bytes per file (default 1 MiB) and rotated files kept (default 3). */
  readonly logMaxBytes?: number
  readonly logKeep?: number
  /** Dynamic ports come from the kernel's ephemeral range unless a range is given. */
  readonly portRange?: readonly [number, number]
  /** Environment the cell adds for every function (the router's URL, PATH with the cell's Node). */
  readonly env?: Readonly<Record<string, string>>
  /** Functions started by start() (default: all); the others wait for startFunction (in an organism, the ones this cell owns). */
  readonly autostart?: readonly string[]
  /** Each function as its own user (the cell runs as root; confine.ts); default: as the cell's user. */
  readonly confine?: Confinement | null
}

export interface LogOptions {
  readonly lines?: number
  readonly follow?: boolean
  readonly signal?: AbortSignal
}

export interface Supervisor extends Startable {
  status: () => FunctionStatus[]
  get: (name: string) => FunctionStatus | undefined
  /** Port to route to, only when state === 'running' (health passed). */
  readyPort: (name: string) => number | null
  /** Every status change (state, port, restart, error) after the call; ends when the signal aborts. */
  changes: (signal?: AbortSignal) => AsyncIterable<FunctionStatus>
  /** Starts a stopped or failed function; resolves at its first outcome (running, failed, backoff). */
  startFunction: (name: string) => Promise<void>
  /** Stops a function; resolves when its whole process group is gone. */
  stopFunction: (name: string) => Promise<void>
  logs: (name: string, opts?: LogOptions) => AsyncIterable<string>
  dataDir: (name: string) => string
  /**
   * After an update: each function's spec from the new commit (the same functions), used from its next start; what
   * runs keeps running until it is restarted.
   */
  retarget: (specs: readonly FunctionSpec[], genomeVersion: string, genomeRoot: string) => void
  /**
   * Starts the next version of a function beside the one that serves (own port, a copy of its data) until its health
   * passes, then stops it: null when it did, else why not. What serves is not touched.
   */
  trial: (spec: FunctionSpec, genomeVersion: string, genomeRoot: string, replay?: Replay) => Promise<string | null>
  metrics: () => MetricFamily[]
}
