// A data directory as a stream: packed by tar on one side, checked (sha256, size) and unpacked into a fresh folder on the other.
// Framed (data frames + trailer on one stream) for the member stream; raw (bare tar bytes, trailer elsewhere) for the bulk path.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, rm, rename } from 'node:fs/promises'
import type { Writable } from 'node:stream'
import { migrateError } from './errors.ts'
import { FRAME, QUEUE_BYTES, writeFrame, writeJson, writeQueued } from './frames.ts'
import type { Frames } from './frames.ts'
import { once } from 'node:events'
import { tarChecker } from './tar-check.ts'

export interface TransferSummary { bytes: number, sha256: string }

/**
 * What a receiver accepts: at most this many bytes of files (the sender's announced size + 10 %). overlay: unpack
 * over what dest holds (a live move's last delta onto its pre-copy) instead of replacing it with a checked new copy.
 */
export interface ReceiveLimits { maxFileBytes?: number | null, overlay?: boolean }

/**
 * The cap on what a receiver accepts: the sender's announced bytes of files + 10 % (none from an older cell), and
 * never more than the genome's `max_data` for the function (null: no bound set).
 */
export function capFor (announced: unknown, genomeMax: number | null = null): number | null {
  const said = typeof announced === 'number' && Number.isFinite(announced) && announced >= 0 ? Math.ceil(announced * 1.1) : null
  return said == null ? genomeMax : genomeMax == null ? said : Math.min(said, genomeMax)
}

/**
 * What to pack: the whole dir (undefined); only these entries, relative paths with parents before children ([] is an
 * empty archive); or, while the function may still write the dir (a live move's pre-copy passes), all of it (null)
 * or these entries ({ live }): there tar's "file changed as we read it" is no failure, a later pass sends them again.
 */
export type Selection = readonly string[] | { readonly live: readonly string[] } | null

/** Packs `dir` (or the selection in it), handing each chunk to `put`; returns the size and checksum the receiver must match. */
async function packDir (dir: string, put: (chunk: Buffer) => Promise<void>, signal?: AbortSignal, files?: Selection): Promise<TransferSummary> {
  const live = files === null || (files != null && !Array.isArray(files))
  const list = files == null ? null : Array.isArray(files) ? files as readonly string[] : (files as { live: readonly string[] }).live
  const tolerant = live ? ['--warning=no-file-changed', '--warning=no-file-removed', '--ignore-failed-read'] : []
  const args = list == null ? ['-C', dir, ...tolerant, '-cf', '-', '.'] : ['-C', dir, ...tolerant, '--no-recursion', '--null', '-T', '-', '-cf', '-']
  const tar = spawn('tar', args, { stdio: ['pipe', 'pipe', 'pipe'], signal })
  tar.stdin.on('error', () => { /* tar exits with its own error */ })
  tar.stdin.end(list == null ? '' : list.map((f) => `./${f}\0`).join(''))
  let stderr = ''
  tar.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const exited = once(tar, 'exit') as Promise<[number | null]>
  const hash = createHash('sha256')
  let bytes = 0
  try {
    for await (const chunk of tar.stdout) {
      hash.update(chunk as Buffer)
      bytes += (chunk as Buffer).length
      await put(chunk as Buffer)
    }
  } catch (err) {
    tar.kill('SIGKILL')
    throw err
  }
  const [code] = await exited
  // GNU tar exits 1 when a file changed or went while it read: the archive is still whole.
  if (code !== 0 && !(live && code === 1)) throw migrateError('MIGRATE_ARCHIVE_FAILED', `tar -c ${dir} exited ${code}: ${stderr.trim()}`)
  return { bytes, sha256: hash.digest('hex') }
}

/** Packs `dir` and writes data frames then a trailer with size and checksum. */
export async function sendDir (dir: string, out: Writable, signal?: AbortSignal, files?: Selection): Promise<TransferSummary> {
  const summary = await packDir(dir, (chunk) => writeFrame(out, FRAME.data, chunk), signal, files)
  await writeJson(out, FRAME.trailer, summary)
  return summary
}

/** Packs `dir` as bare tar bytes (no frames: nothing to copy or parse per chunk); the caller sends the trailer. */
export async function sendRaw (dir: string, out: Writable, signal?: AbortSignal, files?: Selection): Promise<TransferSummary> {
  return await packDir(dir, async (chunk) => { await writeQueued(out, chunk) }, signal, files)
}

/**
 * Receives bare tar bytes (the bulk path, or the member stream's data frames) into `${dest}.incoming`, then checks size and checksum against the trailer (asked for once the chunks
 * end); only a complete, verified copy replaces `dest`.
 */
export async function receiveRaw (chunks: AsyncIterable<Buffer>, trailerOf: () => Promise<TransferSummary | null>, dest: string, limits: ReceiveLimits = {}): Promise<TransferSummary> {
  // An overlay unpacks straight into dest (a staging copy the caller throws away if this fails).
  const incoming = limits.overlay === true ? dest : `${dest}.incoming`
  if (limits.overlay !== true) await rm(incoming, { recursive: true, force: true })
  await mkdir(incoming, { recursive: true })
  const check = tarChecker(limits.maxFileBytes ?? null)
  // Files land as the cell's own, with the cell's umask: no owner or mode of the sender's decides here.
  const tar = spawn('tar', ['-C', incoming, '--no-same-owner', '--no-same-permissions', '-xf', '-'], { stdio: ['pipe', 'ignore', 'pipe'] })
  let stderr = ''
  tar.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const exited = once(tar, 'exit') as Promise<[number | null]>
  tar.stdin.on('error', () => { /* reported through the exit code */ })
  const hash = createHash('sha256')
  let bytes = 0
  try {
    for await (const chunk of chunks) {
      hash.update(chunk)
      bytes += chunk.length
      check.push(chunk)
      tar.stdin.write(chunk)
      if (tar.stdin.writableLength > QUEUE_BYTES) await once(tar.stdin, 'drain')
    }
    tar.stdin.end()
    const [[code], trailer] = await Promise.all([exited, trailerOf()])
    const got = { bytes, sha256: hash.digest('hex') }
    if (trailer == null) throw migrateError('MIGRATE_TRUNCATED', `the data stream ended after ${bytes} bytes without its checksum`)
    if (trailer.sha256 !== got.sha256 || trailer.bytes !== got.bytes) {
      throw migrateError('MIGRATE_CHECKSUM', `received ${got.bytes} bytes with sha256 ${got.sha256.slice(0, 16)}…, the sender sent ${trailer.bytes} bytes with ${trailer.sha256.slice(0, 16)}…`)
    }
    if (code !== 0) throw migrateError('MIGRATE_ARCHIVE_FAILED', `tar -x into ${incoming} exited ${code}: ${stderr.trim()}`)
    if (limits.overlay !== true) {
      await rm(dest, { recursive: true, force: true })
      await rename(incoming, dest)
    }
    return got
  } catch (err) {
    tar.kill('SIGKILL')
    if (limits.overlay !== true) await rm(incoming, { recursive: true, force: true })
    throw err
  }
}

/** Reads a trailer frame from `frames`, or null if the stream ends first. */
export async function readTrailer (frames: Frames): Promise<TransferSummary | null> {
  const next = await frames.next()
  if (next.done === true) return null
  if (next.value.type !== FRAME.trailer) throw migrateError('MIGRATE_PROTOCOL', `unexpected frame type ${next.value.type} in the data stream`)
  return JSON.parse(next.value.payload.toString()) as TransferSummary
}

/** Receives data frames then the trailer from one stream (the member stream). */
export async function receiveDir (frames: Frames, dest: string, limits: ReceiveLimits = {}): Promise<TransferSummary> {
  let trailer: TransferSummary | null = null
  async function * data (): AsyncGenerator<Buffer> {
    for (;;) {
      const next = await frames.next()
      if (next.done === true) return
      const { type, payload } = next.value
      if (type === FRAME.data) { yield payload; continue }
      if (type === FRAME.trailer) { trailer = JSON.parse(payload.toString()) as TransferSummary; return }
      throw migrateError('MIGRATE_PROTOCOL', `unexpected frame type ${type} in the data stream`)
    }
  }
  return await receiveRaw(data(), async () => trailer, dest, limits)
}
