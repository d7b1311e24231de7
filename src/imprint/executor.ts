// The Executor interface: run shell commands and put files on a host; SshExecutor and LocalExecutor implement it.
import type { Readable } from 'node:stream'
import { imprintError } from './errors.ts'

export interface ExecResult { code: number, stdout: string, stderr: string }

export interface CallOptions {
  readonly signal?: AbortSignal
  /** Every call is bounded; these are the defaults when not given. */
  readonly timeoutMs?: number
}

export interface PutOptions extends CallOptions {
  /** The source is packed: the host unpacks it as it arrives (both formats check a checksum, so a damaged copy fails). */
  readonly unpack?: 'gzip' | 'zstd'
  /**
   * Shell run on the host just before the bytes are written (journal lines, directories) and right after (move into
   * place, a check), in the same command: over SSH each command is a round trip and a shell, ~100 ms on a LAN.
   */
  readonly before?: string
  readonly after?: string
  /**
   * The size the written file must have: checked before `after` runs. A channel closed half-way (a cut link, an
   * abort) ends the host's `cat` as if the input were complete; without the check, `after` would move a truncated file
   * into place. (gzip and zstd fail on truncated input by themselves.)
   */
  readonly expectBytes?: number
}

/** Calls fn once the signal aborts, or at once if it already has (a channel that opened after an abort must close too). */
export function whenAborted (signal: AbortSignal, fn: () => void): void {
  if (signal.aborted) fn()
  else signal.addEventListener('abort', fn, { once: true })
}

export interface ExecOptions extends CallOptions {
  readonly stdin?: string | Buffer
}

export interface Executor {
  /** "ssh://user@host:port", or "local (no SSH) DIR": logs and progress say which kind ran the steps. */
  readonly name: string
  readonly kind: 'ssh' | 'local'
  /** Runs cmd with the host's POSIX shell, in the user's home. Never rejects for a non-zero exit. */
  exec: (cmd: string, options?: ExecOptions) => Promise<ExecResult>
  /** Writes a local file or a stream to an absolute path on the host with mode; resolves with the bytes sent. */
  put: (source: string | Readable, remotePath: string, mode: number, options?: PutOptions) => Promise<number>
  close: () => Promise<void>
}

export const EXEC_TIMEOUT_MS = 60_000
export const PUT_TIMEOUT_MS = 600_000

/** Quotes a string for a POSIX shell. */
export function sh (s: string): string { return `'${s.replaceAll("'", "'\\''")}'` }

/** Runs body with a deadline and the caller's signal; onCancel tears the operation down when either fires. */
export async function bounded<T> (what: string, timeoutMs: number, signal: AbortSignal | undefined, body: (cancelled: AbortSignal) => Promise<T>): Promise<T> {
  const inner = new AbortController()
  let reason: Error | null = null
  const stop = (err: Error): void => { if (reason == null) { reason = err; inner.abort(err) } }
  const timer = setTimeout(() => stop(imprintError('IMPRINT_TIMEOUT', `${what} took longer than ${timeoutMs} ms`)), timeoutMs)
  const onAbort = (): void => stop(imprintError('IMPRINT_ABORTED', `${what} was aborted`, { cause: signal?.reason }))
  if (signal?.aborted === true) onAbort()
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    if (reason != null) throw reason
    const cancelled = new Promise<never>((_resolve, reject) => inner.signal.addEventListener('abort', () => reject(reason), { once: true }))
    cancelled.catch(() => {})
    return await Promise.race([body(inner.signal), cancelled])
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
}

/** Throws IMPRINT_EXEC_FAILED unless the result is a success. */
export function mustSucceed (r: ExecResult, what: string): ExecResult {
  if (r.code !== 0) throw imprintError('IMPRINT_EXEC_FAILED', `${what} exited ${r.code}: ${(r.stderr.trim() || r.stdout.trim()).slice(-600)}`, { details: { code: r.code } })
  return r
}
