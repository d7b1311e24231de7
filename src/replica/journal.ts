// The replica's side of a batch: a stream's batches are appended to a journal segment beside the data directory,
// each closed by a marker holding the batch's checksum, made durable (one fdatasync) and acknowledged, then written
// into the files without syncing them: until the files are synced the segment is what holds the batch. A crash at
// any point leaves whole, checked batches (replayed, in order, before the data is used) and at most one unfinished
// batch at a segment's end (never acknowledged, ignored).
//
// Replaying a batch already in the files changes nothing: a batch is block images at offsets, sizes and deletions,
// so applying the same batches again in the same order gives the same files.
import { createHash } from 'node:crypto'
import type { Hash } from 'node:crypto'
import { closeSync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { encodeFrame } from '../migrate/index.ts'
import { BLOCK_BYTES, safeRelative } from './manifest.ts'
import { replicaError } from './errors.ts'

/** Frame types of the replication stream (and of the journal, which holds a batch's frames as they came). */
export const RFRAME = { hello: 20, manifest: 21, file: 22, block: 23, delete: 24, end: 25, ack: 26, refuse: 27, path: 28, commit: 29 } as const

/** Segments: <dir>.journal.s-<time>-<n>, names that sort in the order they were made. */
const SEGMENT = '.journal.s-'
export const segmentPrefix = (dir: string): string => `${basename(dir)}${SEGMENT}`
let made = 0
const stamp = (): string => `${String(Date.now()).padStart(15, '0')}-${String(made++ % 1e9).padStart(9, '0')}`
/** A segment this large is retired once its batches are in the files (which are then synced). */
const ROLL_BYTES = 8 * 1024 * 1024
/** Frames are buffered up to this much before they are written to the segment. */
const FLUSH_BYTES = 1024 * 1024
const DIGEST_BYTES = 16
const MAX_FRAME = 4 * 1024 * 1024 + 64

export interface Journal {
  /** Appends one frame of the open batch (file, block or delete), refusing a path that leaves the directory. */
  add: (type: number, payload: Buffer) => void
  /** Closes the batch with its checksum and makes it durable: it may be acknowledged once this returns. */
  commit: () => void
  /** Writes the batches committed so far into the files; a large segment is then retired. The bytes of data written. */
  apply: () => number
  /** Stops the journal: an unfinished batch is never committed; committed ones wait for the next replay. */
  close: () => void
}

export function openJournal (dir: string): Journal {
  let seg: { file: string, fd: number, fresh: boolean, size: number, applied: number, committed: number } | null = null
  let pending: Buffer[] = []
  let pendingBytes = 0
  let hash: Hash = createHash('sha256')
  let closed = false
  const touched = new Set<string>()
  const live = (): void => { if (closed) throw replicaError('REPLICA_UNAVAILABLE', `the journal of ${dir} was closed (another stream or a takeover took over)`) }
  const flush = (): void => {
    if (seg == null || pendingBytes === 0) return
    seg.size += writeSync(seg.fd, pending.length === 1 ? pending[0] : Buffer.concat(pending))
    pending = []
    pendingBytes = 0
  }
  const append = (frame: Buffer): void => {
    if (seg == null) {
      mkdirSync(dirname(dir), { recursive: true })
      const file = `${dir}${SEGMENT}${stamp()}`
      seg = { file, fd: openSync(file, 'wx+'), fresh: true, size: 0, applied: 0, committed: 0 }
    }
    pending.push(frame)
    pendingBytes += frame.length
    if (pendingBytes >= FLUSH_BYTES) flush()
  }
  return {
    add: (type, payload) => {
      live()
      if (type === RFRAME.file || type === RFRAME.delete) checkPath(JSON.parse(payload.toString()) as { path?: unknown })
      const frame = encodeFrame(type, payload)
      hash.update(frame)
      append(frame)
    },
    commit: () => {
      live()
      if (seg == null) return // an empty batch: nothing to keep
      append(encodeFrame(RFRAME.commit, hash.digest().subarray(0, DIGEST_BYTES)))
      hash = createHash('sha256')
      flush()
      fdatasyncSync(seg.fd)
      // The segment's name must be durable too before its first batch is acknowledged.
      if (seg.fresh) { syncPath(dirname(dir)); seg.fresh = false }
      seg.committed = seg.size
    },
    apply: () => {
      if (closed || seg == null || seg.applied === seg.committed) return 0
      const written = applyRange(dir, seg.fd, seg.applied, seg.committed, touched)
      seg.applied = seg.committed
      if (seg.size >= ROLL_BYTES && seg.size === seg.committed) {
        // Retired: the files get what it held for good, then it goes (durably: it must not come back after newer ones).
        syncTouched(touched)
        closeSync(seg.fd)
        rmSync(seg.file, { force: true })
        syncPath(dirname(dir))
        seg = null
      }
      return written
    },
    close: () => {
      if (closed) return
      closed = true
      pending = []
      if (seg != null) closeSync(seg.fd)
    }
  }
}

function checkPath (f: { path?: unknown }): string {
  if (typeof f.path !== 'string' || !safeRelative(f.path)) throw replicaError('REPLICA_BAD_PATH', `a replicated file is named ${JSON.stringify(f.path)}`)
  return f.path
}

/**
 * Before the data is used (a new stream from the owner, a takeover): every checked batch of every segment is
 * written into the files, in order; the files are synced and the segments removed. The bytes of data written.
 * The caller has closed every journal still writing to dir.
 */
export async function replayJournal (dir: string): Promise<number> {
  const parent = dirname(dir)
  let names: string[] = []
  try { names = readdirSync(parent) } catch {}
  const segments = names.filter((n) => n.startsWith(segmentPrefix(dir))).sort()
  const touched = new Set<string>()
  let written = 0
  for (const name of segments) {
    const file = join(parent, name)
    const fd = openSync(file, 'r')
    try {
      const end = checkedEnd(fd)
      try {
        written += applyRange(dir, fd, 0, end, touched)
      } catch (err) {
        try { renameSync(file, `${dir}.journal.bad`) } catch {}
        throw replicaError('REPLICA_JOURNAL_INVALID', `the journal of ${dir} cannot be applied: ${(err as Error).message}`, { cause: err })
      }
    } finally {
      closeSync(fd)
    }
  }
  if (segments.length === 0) return 0
  syncTouched(touched)
  for (const name of segments) rmSync(join(parent, name), { force: true })
  syncPath(parent)
  return written
}

interface FrameAt { type: number, payload: Buffer, next: number }

/** The frame at `at`, or null where the segment ends or a frame is cut short (the unfinished end of a crash). */
function frameAt (fd: number, at: number): FrameAt | null {
  const head = Buffer.alloc(5)
  if (readSync(fd, head, 0, 5, at) < 5) return null
  const len = head.readUInt32BE(1)
  if (len > MAX_FRAME) return null
  const payload = Buffer.allocUnsafe(len)
  if (len > 0 && readSync(fd, payload, 0, len, at + 5) < len) return null
  return { type: head[0], payload, next: at + 5 + len }
}

/** Where the last batch whose checksum holds ends: what follows was never made durable, so never acknowledged. */
function checkedEnd (fd: number): number {
  let end = 0
  let hash = createHash('sha256')
  for (let f = frameAt(fd, 0); f != null; f = frameAt(fd, f.next)) {
    if (f.type === RFRAME.commit) {
      if (!f.payload.equals(hash.digest().subarray(0, DIGEST_BYTES))) break
      end = f.next
      hash = createHash('sha256')
    } else {
      hash.update(encodeFrame(f.type, f.payload))
    }
  }
  return end
}

// Synchronous: batches are small and applied one at a time; a promise per system call made a 1 KiB batch cost ~3 ms.
function applyRange (dir: string, fd: number, from: number, to: number, touched: Set<string>): number {
  mkdirSync(dir, { recursive: true })
  touched.add(dir)
  let current: { fd: number, size: number } | null = null
  let written = 0
  const finish = (): void => {
    if (current == null) return
    ftruncateSync(current.fd, current.size)
    closeSync(current.fd)
    current = null
  }
  try {
    for (let at = from; at < to;) {
      const f = frameAt(fd, at)
      if (f == null || f.next > to) throw new Error('the journal ends inside a frame')
      at = f.next
      if (f.type === RFRAME.file) {
        finish()
        const meta = JSON.parse(f.payload.toString()) as { path?: unknown, size?: unknown, mode?: unknown }
        const file = join(dir, checkPath(meta))
        mkdirSync(dirname(file), { recursive: true })
        touched.add(dirname(file))
        touched.add(file)
        // In place ('r+'), created if new: 'a' would append, 'w' would empty what blocks not sent still hold.
        let out: number
        try { out = openSync(file, 'r+') } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
          out = openSync(file, 'w+', typeof meta.mode === 'number' ? meta.mode : 0o644)
        }
        current = { fd: out, size: typeof meta.size === 'number' ? meta.size : 0 }
      } else if (f.type === RFRAME.block) {
        if (current == null) throw new Error('a block before its file')
        writeSync(current.fd, f.payload, 4, f.payload.length - 4, f.payload.readUInt32BE(0) * BLOCK_BYTES)
        written += f.payload.length - 4
      } else if (f.type === RFRAME.delete) {
        finish()
        const p = join(dir, checkPath(JSON.parse(f.payload.toString()) as { path?: unknown }))
        rmSync(p, { force: true })
        touched.add(dirname(p))
      } else if (f.type === RFRAME.commit) {
        finish()
      } else {
        throw new Error(`frame type ${f.type} has no place in a batch`)
      }
    }
    finish()
  } finally {
    if (current != null) try { closeSync((current as { fd: number }).fd) } catch {}
  }
  return written
}

/** Makes what applyRange wrote durable: each file and directory it touched (a deleted file needs only its dir). */
function syncTouched (touched: Set<string>): void {
  for (const p of touched) syncPath(p)
  touched.clear()
}

/** A rename, a new file or a new size is durable only once the file and its directory are synced. */
function syncPath (p: string): void {
  let fd: number
  try { fd = openSync(p, 'r') } catch { return }
  try { fsyncSync(fd) } finally { closeSync(fd) }
}
