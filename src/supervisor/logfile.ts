// A function's log: a size-rotating line writer (<fn>.log, .1 … .N) and a reader that tails and follows it.
import { closeSync, fchmodSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs'
import { open, readFile, stat } from 'node:fs/promises'
import { sleep } from './proc.ts'

export interface RotateOptions {
  readonly maxBytes: number
  /** Rotated files kept besides the live one. */
  readonly keep: number
}

export const defaultRotate: RotateOptions = { maxBytes: 1024 * 1024, keep: 3 }

/**
 * Writes whole lines, prefixed with time and stream. Writes are synchronous on purpose: lines from
 * stdout, stderr and the cell stay in order, and a rotation can never interleave with a write.
 */
export class RotatingLog {
  readonly path: string
  private readonly opts: RotateOptions
  private fd: number | null = null
  private size = 0
  private readonly partial = new Map<string, string>()

  constructor (path: string, opts: RotateOptions = defaultRotate) {
    this.path = path
    this.opts = opts
  }

  /** Feeds a chunk of a stream; complete lines are written, the rest waits for its newline. */
  write (stream: string, chunk: string): void {
    const text = (this.partial.get(stream) ?? '') + chunk
    const lines = text.split('\n')
    this.partial.set(stream, lines.pop() ?? '')
    for (const line of lines) this.line(stream, line)
  }

  /** Writes what is left of a stream that ended without a newline. */
  flush (stream: string): void {
    const rest = this.partial.get(stream)
    if (rest != null && rest !== '') this.line(stream, rest)
    this.partial.delete(stream)
  }

  line (stream: string, text: string): void {
    const data = Buffer.from(`${new Date().toISOString()} ${stream} ${text}\n`)
    if (this.fd == null) this.openFile()
    if (this.size > 0 && this.size + data.length > this.opts.maxBytes) this.rotate()
    writeSync(this.fd as number, data)
    this.size += data.length
  }

  close (): void {
    for (const stream of [...this.partial.keys()]) this.flush(stream)
    if (this.fd != null) closeSync(this.fd)
    this.fd = null
  }

  private openFile (): void {
    this.fd = openSync(this.path, 'a', 0o640)
    // A file made by an older version, or under a loose umask, is narrowed too: logs can hold what requests carried.
    fchmodSync(this.fd, 0o640)
    this.size = statSync(this.path).size
  }

  private rotate (): void {
    if (this.fd != null) closeSync(this.fd)
    rmSync(`${this.path}.${this.opts.keep}`, { force: true })
    for (let i = this.opts.keep - 1; i >= 1; i--) {
      try { renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`) } catch { /* not there yet */ }
    }
    if (this.opts.keep > 0) renameSync(this.path, `${this.path}.1`)
    else rmSync(this.path, { force: true })
    this.fd = openSync(this.path, 'a', 0o640)
    this.size = 0
  }
}

async function fileLines (path: string): Promise<string[]> {
  try {
    const lines = (await readFile(path, 'utf8')).split('\n')
    if (lines[lines.length - 1] === '') lines.pop()
    return lines
  } catch {
    return []
  }
}

/** The last `n` lines across the live file and its rotated predecessors (newest last). */
export async function tailLines (path: string, n: number, keep = defaultRotate.keep): Promise<string[]> {
  let out: string[] = []
  for (let i = 0; i <= keep && out.length < n; i++) {
    out = (await fileLines(i === 0 ? path : `${path}.${i}`)).concat(out)
  }
  return n <= 0 ? [] : out.slice(-n)
}

/**
 * Yields the last `lines` lines, then (with follow) each new line until the signal aborts. Rotation is
 * handled by finishing the old file through its open handle before switching to the new one (by inode).
 */
/** The rotated files newer than the one with inode `ino` (all kept ones if it is gone), oldest first. */
async function rotatedSince (path: string, ino: number | null, keep: number): Promise<string[]> {
  const newer: string[] = []
  for (let i = 1; i <= keep; i++) {
    const s = await stat(`${path}.${i}`).catch(() => null)
    if (s == null || s.ino === ino) break
    newer.unshift(`${path}.${i}`)
  }
  return newer
}

export async function * readLog (path: string, opts: { lines?: number, follow?: boolean, signal?: AbortSignal, pollMs?: number, keep?: number }): AsyncGenerator<string> {
  const want = opts.lines ?? 100
  const signal = opts.signal
  // Read the live file through one handle so that follow continues exactly where the tail ended.
  let handle = await open(path, 'r').catch(() => null)
  let ino = handle == null ? null : (await handle.stat()).ino
  let offset = 0
  let rest = ''
  try {
    let live: string[] = []
    if (handle != null) {
      const buf = Buffer.alloc((await handle.stat()).size)
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0)
      offset = bytesRead
      live = buf.subarray(0, bytesRead).toString('utf8').split('\n')
      rest = live.pop() ?? ''
    }
    let older: string[] = []
    for (let i = 1; i <= (opts.keep ?? defaultRotate.keep) && live.length + older.length < want; i++) {
      older = (await fileLines(`${path}.${i}`)).concat(older)
    }
    if (want > 0) for (const line of older.concat(live).slice(-want)) yield line
    if (opts.follow !== true) return
    /** What was added to the file we hold since we last read it: whole lines (a partial one waits in `rest`). */
    const added = async (): Promise<{ grew: boolean, lines: string[] }> => {
      if (handle == null) return { grew: false, lines: [] }
      const { size } = await handle.stat()
      if (size < offset) offset = 0 // truncated in place
      if (size <= offset) return { grew: false, lines: [] }
      const buf = Buffer.alloc(size - offset)
      const { bytesRead } = await handle.read(buf, 0, buf.length, offset)
      offset += bytesRead
      const parts = (rest + buf.subarray(0, bytesRead).toString('utf8')).split('\n')
      rest = parts.pop() ?? ''
      return { grew: true, lines: parts }
    }
    while (signal?.aborted !== true) {
      const fresh = await added()
      for (const line of fresh.lines) yield line
      if (fresh.grew) continue
      // Nothing new in the file we hold: if the path now names another file, the writer rotated.
      const now = await stat(path).catch(() => null)
      if (now != null && now.ino !== ino) {
        // The writer may have added lines to our file between our last read and the rename: read it to its end first.
        for (const line of (await added()).lines) yield line
        if (rest !== '') yield rest
        // It may have rotated more than once since we looked (a busy function, a slow reader): the files between ours
        // (now path.K) and the live one are read whole first, oldest first, so that no line is skipped.
        for (const between of await rotatedSince(path, ino, opts.keep ?? defaultRotate.keep)) {
          for (const line of await fileLines(between)) yield line
        }
        await handle?.close()
        handle = await open(path, 'r').catch(() => null)
        ino = now.ino
        offset = 0
        rest = ''
        continue
      }
      await sleep(opts.pollMs ?? 100, signal)
    }
  } finally {
    await handle?.close()
  }
}
