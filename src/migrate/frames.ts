// Typed frames on a byte stream for moving a function: header, data chunks, trailer (checksum), result.
import type { Readable, Writable } from 'node:stream'
import { migrateError } from './errors.ts'

export const FRAME = { header: 1, data: 2, trailer: 3, result: 4 } as const
export type FrameType = typeof FRAME[keyof typeof FRAME]
const MAX_FRAME = 4 * 1024 * 1024

export function encodeFrame (type: FrameType, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.byteLength)
  out[0] = type
  out.writeUInt32BE(payload.byteLength, 1)
  out.set(payload, 5)
  return out
}

export const jsonFrame = (type: FrameType, value: unknown): Buffer => encodeFrame(type, Buffer.from(JSON.stringify(value)))

/** Writes a frame, waiting for drain: a slow receiver slows the sender instead of filling memory. */
export async function writeFrame (out: Writable, type: FrameType, payload: Uint8Array): Promise<void> {
  if (out.destroyed) throw closedError()
  if (!out.write(encodeFrame(type, payload))) await drained(out)
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

/** Reads frames one by one from a byte stream, whatever the chunking. */
export async function * readFrames (input: Readable): AsyncGenerator<{ type: number, payload: Buffer }> {
  let buf: Buffer = Buffer.alloc(0)
  for await (const chunk of input) {
    buf = buf.length === 0 ? chunk as Buffer : Buffer.concat([buf, chunk as Buffer])
    while (buf.length >= 5) {
      const len = buf.readUInt32BE(1)
      if (len > MAX_FRAME) throw migrateError('MIGRATE_PROTOCOL', `a frame of ${len} bytes exceeds the ${MAX_FRAME}-byte limit`)
      if (buf.length < 5 + len) break
      yield { type: buf[0], payload: buf.subarray(5, 5 + len) }
      buf = buf.subarray(5 + len)
    }
  }
  if (buf.length > 0) throw migrateError('MIGRATE_PROTOCOL', `the stream ended inside a frame (${buf.length} bytes left)`)
}
