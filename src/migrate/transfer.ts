// A data directory as a stream: packed by tar on one side, checked (sha256, size) and unpacked into a fresh folder on the other.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, rm, rename } from 'node:fs/promises'
import type { Writable } from 'node:stream'
import { migrateError } from './errors.ts'
import { FRAME, QUEUE_BYTES, writeFrame, jsonFrame, drained } from './frames.ts'
import { once } from 'node:events'

export interface TransferSummary { bytes: number, sha256: string }

/** Packs `dir` and writes data frames then a trailer with size and checksum. */
export async function sendDir (dir: string, out: Writable, signal?: AbortSignal): Promise<TransferSummary> {
  const tar = spawn('tar', ['-C', dir, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'pipe'], signal })
  let stderr = ''
  tar.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const exited = once(tar, 'exit') as Promise<[number | null]>
  const hash = createHash('sha256')
  let bytes = 0
  try {
    for await (const chunk of tar.stdout) {
      hash.update(chunk as Buffer)
      bytes += (chunk as Buffer).length
      await writeFrame(out, FRAME.data, chunk as Buffer)
    }
  } catch (err) {
    tar.kill('SIGKILL')
    throw err
  }
  const [code] = await exited
  if (code !== 0) throw migrateError('MIGRATE_ARCHIVE_FAILED', `tar -c ${dir} exited ${code}: ${stderr.trim()}`)
  const summary = { bytes, sha256: hash.digest('hex') }
  if (!out.write(jsonFrame(FRAME.trailer, summary))) await drained(out)
  return summary
}

/**
 * Unpacks data chunks into `${dest}.incoming`, then checks size and checksum against the trailer;
 * only a complete, verified copy replaces `dest`.
 */
export async function receiveDir (frames: AsyncIterator<{ type: number, payload: Buffer }>, dest: string): Promise<TransferSummary> {
  const incoming = `${dest}.incoming`
  await rm(incoming, { recursive: true, force: true })
  await mkdir(incoming, { recursive: true })
  const tar = spawn('tar', ['-C', incoming, '-xf', '-'], { stdio: ['pipe', 'ignore', 'pipe'] })
  let stderr = ''
  tar.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const exited = once(tar, 'exit') as Promise<[number | null]>
  tar.stdin.on('error', () => { /* reported through the exit code */ })
  const hash = createHash('sha256')
  let bytes = 0
  let trailer: TransferSummary | null = null
  try {
    for (;;) {
      const next = await frames.next()
      if (next.done === true) break
      const { type, payload } = next.value
      if (type === FRAME.data) {
        hash.update(payload)
        bytes += payload.length
        tar.stdin.write(payload)
        if (tar.stdin.writableLength > QUEUE_BYTES) await once(tar.stdin, 'drain')
      } else if (type === FRAME.trailer) {
        trailer = JSON.parse(payload.toString()) as TransferSummary
        break
      } else {
        throw migrateError('MIGRATE_PROTOCOL', `unexpected frame type ${type} in the data stream`)
      }
    }
    tar.stdin.end()
    const [code] = await exited
    const got = { bytes, sha256: hash.digest('hex') }
    if (trailer == null) throw migrateError('MIGRATE_TRUNCATED', `the data stream ended after ${bytes} bytes without its checksum`)
    if (trailer.sha256 !== got.sha256 || trailer.bytes !== got.bytes) {
      throw migrateError('MIGRATE_CHECKSUM', `received ${got.bytes} bytes with sha256 ${got.sha256.slice(0, 16)}…, the sender sent ${trailer.bytes} bytes with ${trailer.sha256.slice(0, 16)}…`)
    }
    if (code !== 0) throw migrateError('MIGRATE_ARCHIVE_FAILED', `tar -x into ${incoming} exited ${code}: ${stderr.trim()}`)
    await rm(dest, { recursive: true, force: true })
    await rename(incoming, dest)
    return got
  } catch (err) {
    tar.kill('SIGKILL')
    await rm(incoming, { recursive: true, force: true })
    throw err
  }
}
