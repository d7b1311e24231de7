// Typed frames on a byte stream for moving a function: header, data chunks, trailer (checksum), result.
import type { Readable, Writable } from 'node:stream'
import { isOrganismError } from '../core/errors.ts'
import { migrateError } from './errors.ts'

// offer and path exist only on move/2.0.0 streams: the receiver's side-path offer, and the sender's choice. delta
// follows a pre-copy (a live move): what changed since, and what the receiver's copy must hold in the end.
export const FRAME = { header: 1, data: 2, trailer: 3, result: 4, offer: 5, path: 6, delta: 7 } as const
export type FrameType = typeof FRAME[keyof typeof FRAME]
/** Frames as they are read from a stream, one at a time. */
export type Frames = AsyncIterator<{ type: number, payload: Buffer }>
const MAX_FRAME = 4 * 1024 * 1024

export function encodeFrame (type: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.byteLength)
  out[0] = type
  out.writeUInt32BE(payload.byteLength, 1)
  out.set(payload, 5)
  return out
}

export const jsonFrame = (type: number, value: unknown): Buffer => encodeFrame(type, Buffer.from(JSON.stringify(value)))

/**
 * How much a transfer may queue ahead of a slower side. Waiting for 'drain' after every 64 KB chunk (Node's 16 KB
 * default mark) turns each chunk into a round of context switches between tar, the cell and the kernel; on a loaded
 * machine those rounds, not the bytes, set the pace. A few MB in flight keep every stage busy, and memory bounded.
 */
export const QUEUE_BYTES = 4 * 1024 * 1024

/** Writes bytes, waiting for drain once QUEUE_BYTES are queued: a slow receiver slows the sender instead of filling memory. */
export async function writeQueued (out: Writable, bytes: Uint8Array): Promise<void> {
  if (out.destroyed) throw closedError()
  out.write(bytes)
  if (out.writableLength > QUEUE_BYTES) await drained(out)
}

export async function writeFrame (out: Writable, type: FrameType, payload: Uint8Array): Promise<void> {
  await writeQueued(out, encodeFrame(type, payload))
}

export async function writeJson (out: Writable, type: FrameType, value: unknown): Promise<void> {
  await writeQueued(out, jsonFrame(type, value))
}

const closedError = (): Error => migrateError('MIGRATE_TRUNCATED', 'the connection closed during the transfer')

/** Resolves on 'drain'; rejects if the stream closes first (a drain that never comes must not hang the move). */
export function drained (out: Writable): Promise<void> {
  if (out.destroyed) return Promise.reject(closedError())
  return new Promise((resolve, reject) => {
    const done = (): void => { off(); resolve() }
    const fail = (): void => { off(); reject(closedError()) }
    const off = (): void => { out.off('drain', done); out.off('close', fail); out.off('error', fail) }
    out.once('drain', done)
    out.once('close', fail)
    out.once('error', fail)
  })
}

/** A stream reset or destroyed under the reader (a cut link, a killed peer) reads as a truncated transfer. */
async function * cutsAreTruncation (input: Readable): AsyncGenerator<unknown> {
  try {
    for await (const chunk of input) yield chunk
  } catch (err) {
    throw isOrganismError(err) ? err : migrateError('MIGRATE_TRUNCATED', `the connection failed: ${(err as Error).message}`, { cause: err })
  }
}

/** Reads frames one by one from a byte stream, whatever the chunking. */
export async function * readFrames (input: Readable): AsyncGenerator<{ type: number, payload: Buffer }> {
  // Chunks wait in a list and are joined once a whole frame is there: a 64 KB frame that arrives as 16 KB TLS
  // records is copied once, not once per record.
  let parts: Buffer[] = []
  let have = 0
  for await (const chunk of cutsAreTruncation(input)) {
    parts.push(chunk as Buffer)
    have += (chunk as Buffer).length
    while (have >= 5) {
      if (parts[0].length < 5) parts = [Buffer.concat(parts, have)]
      const len = parts[0].readUInt32BE(1)
      if (len > MAX_FRAME) throw migrateError('MIGRATE_PROTOCOL', `a frame of ${len} bytes exceeds the ${MAX_FRAME}-byte limit`)
      if (have < 5 + len) break
      const buf = parts.length === 1 ? parts[0] : Buffer.concat(parts, have)
      yield { type: buf[0], payload: buf.subarray(5, 5 + len) }
      const rest = buf.subarray(5 + len)
      parts = rest.length > 0 ? [rest] : []
      have = rest.length
    }
  }
  if (have > 0) throw migrateError('MIGRATE_PROTOCOL', `the stream ended inside a frame (${have} bytes left)`)
}

/** Reads the next frame as JSON of the given type; a result frame in its place is the receiver's refusal. */
export async function nextJson (frames: Frames, type: FrameType, what: string): Promise<unknown> {
  const next = await frames.next()
  if (next.done === true) throw migrateError('MIGRATE_TRUNCATED', `the stream ended before the ${what}`)
  if (next.value.type === type) return JSON.parse(next.value.payload.toString()) as unknown
  // A receiver that refuses early (bad header, stop failed) answers its result instead; pass its reason on.
  if (next.value.type === FRAME.result) {
    const r = JSON.parse(next.value.payload.toString()) as { code?: string, message?: string, hint?: string }
    throw migrateError('MIGRATE_REFUSED', `the receiving cell refused: ${r.code ?? '?'}: ${r.message ?? ''}`, r.hint != null ? { hint: r.hint } : {})
  }
  throw migrateError('MIGRATE_PROTOCOL', `expected the ${what}, got frame type ${next.value.type}`)
}
