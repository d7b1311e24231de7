// Running system commands for the lab: async for setup, sync for teardown (it must work inside process.on('exit')).
import { spawn, spawnSync } from 'node:child_process'
import type { SpawnOptions } from 'node:child_process'
import { labError } from './errors.ts'

export interface RunResult { code: number, stdout: string, stderr: string }

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv
  readonly cwd?: string
  readonly input?: string
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
}

/** Runs argv and resolves with its exit code and output; never rejects for a non-zero exit. */
export async function run (argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return await new Promise((resolve, reject) => {
    const spawnOptions: SpawnOptions = { env: options.env, cwd: options.cwd, stdio: [options.input != null ? 'pipe' : 'ignore', 'pipe', 'pipe'], signal: options.signal }
    const child = spawn(argv[0], argv.slice(1), spawnOptions)
    let stdout = ''
    let stderr = ''
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.on('error', (err) => {
      clearTimeout(timer)
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') reject(labError('LAB_TOOL_MISSING', `${argv[0]} is not installed`, { cause: err }))
      else reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? (signal != null ? 128 : 1), stdout, stderr })
    })
    // A command that exits without reading its input must not crash us with EPIPE.
    child.stdin?.on('error', () => {})
    child.stdin?.end(options.input)
  })
}

/** Runs argv and rejects with LAB_COMMAND_FAILED unless it exits 0. */
export async function mustRun (argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await run(argv, options)
  if (result.code !== 0) {
    throw labError('LAB_COMMAND_FAILED', `\`${argv.join(' ')}\` exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`, {
      details: { argv, code: result.code }
    })
  }
  return result
}

/** Synchronous best effort: teardown ignores failures (the thing may already be gone). */
export function runSync (argv: readonly string[]): RunResult {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 15_000 })
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error?.message ?? '') }
}
