// The replica's side of a batch: frames are appended to a journal beside the data directory, the journal is made
// durable (fsync, rename), and only then applied to the files. A crash at any point leaves either no journal (the
// batch was never acknowledged) or a whole one, replayed before the data is used: a batch lands entirely or not at all.
import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, rename, rm, readFile } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { encodeFrame } from '../migrate/index.ts'
import { BLOCK_BYTES, safeRelative } from './manifest.ts'
import { replicaError } from './errors.ts'

/** Frame types of the replication stream (and of the journal, which holds a batch's frames as they came). */
export const RFRAME = { hello: 20, manifest: 21, file: 22, block: 23, delete: 24, end: 25, ack: 26, refuse: 27 } as const

export const journalPath = (dir: string): string => `${dir}.journal`

export interface BatchJournal {
  /** Appends one frame of the batch (file, block or delete), refusing a path that leaves the directory. */
  add: (type: number, payload: Buffer) => Promise<void>
  /** Makes the batch durable and applies it; returns the bytes of data written. */
  commit: () => Promise<number>
  discard: () => Promise<void>
}

export async function openBatch (dir: string): Promise<BatchJournal> {
  // Each batch its own file: a stream cut mid-batch (and its clean-up) never touches a newer stream's batch.
  const tmp = `${journalPath(dir)}.tmp-${randomBytes(6).toString('hex')}`
  await mkdir(dirname(dir), { recursive: true })
  const fh = await open(tmp, 'w')
  let closed = false
  const close = async (): Promise<void> => { if (!closed) { closed = true; await fh.close() } }
  return {
    add: async (type, payload) => {
      if (type === RFRAME.file || type === RFRAME.delete) checkPath(JSON.parse(payload.toString()) as { path?: unknown })
      await fh.write(encodeFrame(type, payload))
    },
    commit: async () => {
      await fh.sync()
      await close()
      await rename(tmp, journalPath(dir))
      await syncDir(dirname(dir))
      return await applyJournal(dir)
    },
    discard: async () => { await close(); await rm(tmp, { force: true }) }
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
  for (const name of await readdir(dirname(dir)).catch(() => [])) if (name.startsWith(prefix)) await rm(join(dirname(dir), name), { force: true })
  return await applyJournal(dir)
}

/** Applies the durable journal of dir, if there is one, and removes it; the bytes of data written. */
export async function applyJournal (dir: string): Promise<number> {
  const bytes = await readFile(journalPath(dir)).catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return null; throw err })
  if (bytes == null) return 0
  let written = 0
  try {
    written = await applyFrames(dir, bytes)
  } catch (err) {
    await rename(journalPath(dir), `${journalPath(dir)}.bad`).catch(() => {})
    throw replicaError('REPLICA_JOURNAL_INVALID', `the journal of ${dir} cannot be applied: ${(err as Error).message}`, { cause: err })
  }
  await rm(journalPath(dir), { force: true })
  return written
}

async function applyFrames (dir: string, bytes: Buffer): Promise<number> {
  await mkdir(dir, { recursive: true })
  const dirs = new Set<string>([dir])
  let current: { fh: FileHandle, size: number } | null = null
  let written = 0
  const finish = async (): Promise<void> => {
    if (current == null) return
    await current.fh.truncate(current.size)
    await current.fh.sync()
    await current.fh.close()
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
        await finish()
        const f = JSON.parse(payload.toString()) as { path?: unknown, size?: unknown, mode?: unknown }
        const file = join(dir, checkPath(f))
        await mkdir(dirname(file), { recursive: true })
        dirs.add(dirname(file))
        // 'a+' would append; open for writing in place, creating the file if it is new.
        const fh = await open(file, 'r+').catch(async (err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return await open(file, 'w+', typeof f.mode === 'number' ? f.mode : 0o644); throw err })
        current = { fh, size: typeof f.size === 'number' ? f.size : 0 }
      } else if (type === RFRAME.block) {
        if (current == null) throw new Error('a block before its file')
        const index = payload.readUInt32BE(0)
        await current.fh.write(payload, 4, payload.length - 4, index * BLOCK_BYTES)
        written += payload.length - 4
      } else if (type === RFRAME.delete) {
        await finish()
        const p = checkPath(JSON.parse(payload.toString()) as { path?: unknown })
        await rm(join(dir, p), { force: true })
        dirs.add(dirname(join(dir, p)))
      } else {
        throw new Error(`frame type ${type} has no place in a batch`)
      }
    }
    await finish()
  } finally {
    await (current as { fh: FileHandle } | null)?.fh.close().catch(() => {})
  }
  for (const d of dirs) await syncDir(d)
  return written
}

/** A rename or a new file is durable only once its directory is synced. */
async function syncDir (d: string): Promise<void> {
  const fh = await open(d, 'r').catch(() => null)
  if (fh == null) return
  try { await fh.sync() } finally { await fh.close() }
}
