// Function states and the allowed moves between them (pure), plus the health verdict while running.

export type FunctionState = 'setup' | 'starting' | 'running' | 'unhealthy' | 'backoff' | 'crash-loop' | 'failed' | 'stopping' | 'stopped'

export const states: readonly FunctionState[] = ['setup', 'starting', 'running', 'unhealthy', 'backoff', 'crash-loop', 'failed', 'stopping', 'stopped']

/**
 * A function in one of these states has a process (or is making one) that runs the code it started with: what must
 * restart for it to run other code (a healed file, an update).
 */
export const hasProcess = (s: FunctionState | undefined): boolean => s != null && s !== 'failed' && s !== 'stopping' && s !== 'stopped'

const allowed: Record<FunctionState, readonly FunctionState[]> = {
  stopped: ['setup', 'starting', 'failed'],
  setup: ['starting', 'failed', 'stopping'],
  starting: ['running', 'backoff', 'crash-loop', 'failed', 'stopping'],
  running: ['unhealthy', 'backoff', 'crash-loop', 'stopping'],
  unhealthy: ['running', 'backoff', 'crash-loop', 'stopping'],
  // A restart after backoff skips setup (it ran for this genome version) but may fail before spawning.
  backoff: ['starting', 'failed', 'stopping', 'stopped'],
  'crash-loop': ['starting', 'failed', 'stopping', 'stopped'],
  failed: ['setup', 'starting', 'failed', 'stopping', 'stopped'],
  stopping: ['stopped'],
}

export function canTransition (from: FunctionState, to: FunctionState): boolean {
  return from === to || allowed[from].includes(to)
}

/** The state a checked function moves to after one health probe: `failures` counts consecutive failed probes. */
export function healthVerdict (state: 'running' | 'unhealthy', ok: boolean, failures: number, unhealthyAfter: number): 'running' | 'unhealthy' {
  if (ok) return 'running'
  return state === 'unhealthy' || failures >= unhealthyAfter ? 'unhealthy' : 'running'
}
