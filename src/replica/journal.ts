// The replica's side of a batch: frames are appended to a journal beside the data directory, the journal is made
// durable (fsync, rename) and acknowledged, then applied to the files, in the order the batches came. A crash at any
// point leaves either no journal (the batch was never acknowledged) or a whole one, applied before the data is used:
// a batch lands entirely or not at all.
import { randomBytes } from 'node:crypto'
import { closeSync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { encodeFrame } from '../migrate/index.ts'
import { BLOCK_BYTES, safeRelative } from './manifest.ts'
import { replicaError } from './errors.ts'

/** Frame types of the replication stream (and of the journal, which holds a batch's frames as they came). */
export const RFRAME = { hello: 20, manifest: 21, file: 22, block: 23, delete: 24, end: 25, ack: 26, refuse: 27, path: 28 } as const

export const journalPath = (dir: string): string => `${dir}.journal`
/** Durable batches waiting to be applied: <dir>.journal.d-<time>-<n>, names that sort in the order they were made. */
const DURABLE = '.d-'
let made = 0
const stamp = (): string => `${String(Date.now()).padStart(15, '0')}-${String(made++ % 1e9).padStart(9, '0')}`

export interface BatchJournal {
  /** Appends one frame of the batch (file, block or delete), refusing a path that leaves the directory. */
  add: (type: number, payload: Buffer) => Promise<void>
  /** Makes the batch durable (it is then part of what the replica holds); applyJournal writes it into the files. */
  commit: () => Promise<void>
  discard: () => Promise<void>
}

export async function openBatch (dir: string): Promise<BatchJournal> {
  // Each batch its own file: a stream cut mid-batch (and its clean-up) never touches a newer stream's batch.
  const tmp = `${journalPath(dir)}.tmp-${randomBytes(6).toString('hex')}`
  mkdirSync(dirname(dir), { recursive: true })
  const fd = openSync(tmp, 'w')
  let closed = false
  const close = (): void => { if (!closed) { closed = true; closeSync(fd) } }
  return {
    add: async (type, payload) => {
      if (type === RFRAME.file || type === RFRAME.delete) checkPath(JSON.parse(payload.toString()) as { path?: unknown })
      writeSync(fd, encodeFrame(type, payload))
    },
    commit: async () => {
      fdatasyncSync(fd)
      close()
      renameSync(tmp, `${journalPath(dir)}${DURABLE}${stamp()}`)
      syncDir(dirname(dir))
    },
    discard: async () => { close(); rmSync(tmp, { force: true }) }
  }
}

function checkPath (f: { path?: unknown }): string {
  if (typeof f.path !== 'string' || !safeRelative(f.path)) throw replicaError('REPLICA_BAD_PATH', `a replicated file is named ${JSON.stringify(f.path)}`)
  return f.path
}

/**
 * Before the data is used (a new stream from the owner, a takeover): batches never made durable are dropped (never
 * acknowledged), and a durable one left by a crash is applied.
 */
export async function replayJournal (dir: string): Promise<number> {
  const prefix = `${basename(journalPath(dir))}.tmp-`
  let names: string[] = []
  try { names = readdirSync(dirname(dir)) } catch {}
  for (const name of names) if (name.startsWith(prefix)) rmSync(join(dirname(dir), name), { force: true })
  return await applyJournal(dir)
}

/** Applies every durable batch of dir in the order they were made, removing each; the bytes of data written. */
export async function applyJournal (dir: string): Promise<number> {
  const base = basename(journalPath(dir))
  let names: string[] = []
  try { names = readdirSync(dirname(dir)) } catch {}
  // The single journal of an older version first, then the batches by name.
  const pending = [...names.filter((n) => n === base), ...names.filter((n) => n.startsWith(base + DURABLE)).sort()]
  let written = 0
  for (const name of pending) {
    const file = join(dirname(dir), name)
    let bytes: Buffer
    try { bytes = readFileSync(file) } catch (err) { if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; throw err }
    try {
      written += applyFrames(dir, bytes)
    } catch (err) {
      try { renameSync(file, `${journalPath(dir)}.bad`) } catch {}
      throw replicaError('REPLICA_JOURNAL_INVALID', `the journal of ${dir} cannot be applied: ${(err as Error).message}`, { cause: err })
    }
    rmSync(file, { force: true })
  }
  return written
}

// Synchronous: batches are small and applied one at a time; a promise per system call made a 1 KiB batch cost ~3 ms.
function applyFrames (dir: string, bytes: Buffer): number {
  mkdirSync(dir, { recursive: true })
  const dirs = new Set<string>([dir])
  let current: { fd: number, size: number } | null = null
  let written = 0
  const finish = (): void => {
    if (current == null) return
    ftruncateSync(current.fd, current.size)
    fdatasyncSync(current.fd)
    closeSync(current.fd)
    current = null
  }
  try {
    for (let at = 0; at < bytes.length;) {
      if (at + 5 > bytes.length) throw new Error('the journal ends inside a frame')
      const type = bytes[at]
      const len = bytes.readUInt32BE(at + 1)
      const payload = bytes.subarray(at + 5, at + 5 + len)
      if (payload.length !== len) throw new Error('the journal ends inside a frame')
      at += 5 + len
      if (type === RFRAME.file) {
        finish()
        const f = JSON.parse(payload.toString()) as { path?: unknown, size?: unknown, mode?: unknown }
        const file = join(dir, checkPath(f))
        mkdirSync(dirname(file), { recursive: true })
        dirs.add(dirname(file))
        // In place ('r+'), created if new: 'a' would append, 'w' would empty what blocks not sent still hold.
        let fd: number
        try { fd = openSync(file, 'r+') } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
          fd = openSync(file, 'w+', typeof f.mode === 'number' ? f.mode : 0o644)
        }
        current = { fd, size: typeof f.size === 'number' ? f.size : 0 }
      } else if (type === RFRAME.block) {
        if (current == null) throw new Error('a block before its file')
        const index = payload.readUInt32BE(0)
        writeSync(current.fd, payload, 4, payload.length - 4, index * BLOCK_BYTES)
        written += payload.length - 4
      } else if (type === RFRAME.delete) {
        finish()
        const p = checkPath(JSON.parse(payload.toString()) as { path?: unknown })
        rmSync(join(dir, p), { force: true })
        dirs.add(dirname(join(dir, p)))
      } else {
        throw new Error(`frame type ${type} has no place in a batch`)
      }
    }
    finish()
  } finally {
    if (current != null) try { closeSync((current as { fd: number }).fd) } catch {}
  }
  for (const d of dirs) syncDir(d)
  return written
}

/** A rename or a new file is durable only once its directory is synced. */
function syncDir (d: string): void {
  let fd: number
  try { fd = openSync(d, 'r') } catch { return }
  try { fsyncSync(fd) } finally { closeSync(fd) }
}
