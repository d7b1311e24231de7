// Starting shell commands in their own process group, with their output piped into the function's log.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import type { RotatingLog } from './logfile.ts'
import { signalGroup, terminateGroup } from './proc.ts'
import type { Jailed } from './confine.ts'

export interface Spawned {
  readonly child: ChildProcess
  /** detached: true makes the child a session and group leader, so its pid is the group id. */
  readonly pgid: number
  /** Resolves once with the exit (or the spawn error as code null). */
  readonly exited: Promise<{ code: number | null, signal: string | null }>
  /** Resolves when stdout and stderr have closed (all output is in the log), or after timeoutMs. */
  drained: (timeoutMs: number) => Promise<void>
}

/** How to run a command instead of `sh -c` in cwd (confine.ts: as the function's own user). */
export type Wrap = (command: string, env: NodeJS.ProcessEnv) => Jailed

/** Runs `sh -c command` in cwd as a new process group; stdout/stderr go to the log under `<prefix>out`/`<prefix>err`. */
export function spawnShell (command: string, cwd: string, env: NodeJS.ProcessEnv, log: RotatingLog, prefix = '', wrap?: Wrap): Spawned {
  const how = wrap?.(command, env) ?? { file: 'sh', args: ['-c', command], cwd, env }
  const child = spawn(how.file, how.args, { cwd: how.cwd, env: how.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let closed = false
  const onClose: Array<() => void> = []
  const exited = new Promise<{ code: number | null, signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
    child.once('error', (err) => {
      log.line('cell', `spawn failed: ${err.message}`)
      resolve({ code: null, signal: null })
    })
  })
  for (const [stream, name] of [[child.stdout, 'out'], [child.stderr, 'err']] as const) {
    stream?.setEncoding('utf8')
    stream?.on('data', (chunk: string) => log.write(prefix + name, chunk))
    stream?.on('end', () => log.flush(prefix + name))
    stream?.on('error', () => { /* the pipe broke with the process; nothing to log */ })
  }
  child.once('close', () => { closed = true; for (const f of onClose.splice(0)) f() })
  const drained = (timeoutMs: number): Promise<void> => closed
    ? Promise.resolve()
    : new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs)
      onClose.push(() => { clearTimeout(t); resolve() })
    })
  return { child, pgid: child.pid ?? -1, exited, drained }
}

/** Runs a one-off command (setup) to completion, killing its group if it outlives timeoutMs or the signal. */
export async function runToEnd (command: string, cwd: string, env: NodeJS.ProcessEnv, log: RotatingLog, timeoutMs: number, graceMs: number, signal?: AbortSignal, wrap?: Wrap): Promise<{ code: number | null, signal: string | null, timedOut: boolean }> {
  const s = spawnShell(command, cwd, env, log, 'setup:', wrap)
  let timedOut = false
  const kill = (): void => { if (s.pgid > 0) void terminateGroup(s.pgid, graceMs) }
  const t = setTimeout(() => { timedOut = true; kill() }, timeoutMs)
  signal?.addEventListener('abort', kill, { once: true })
  try {
    const res = await s.exited
    // Whatever the setup left running in its group must not outlive it.
    if (s.pgid > 0) signalGroup(s.pgid, 'SIGKILL')
    await s.drained(1_000)
    return { ...res, timedOut }
  } finally {
    clearTimeout(t)
    signal?.removeEventListener('abort', kill)
  }
}
