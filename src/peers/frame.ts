// Length-prefixed frames on a libp2p stream: 4-byte big-endian length, then the payload; one frame each way.
import type { Stream } from '@libp2p/interface'
import { peersError } from './errors.ts'

export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024

export function frame (payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.byteLength)
  new DataView(out.buffer).setUint32(0, payload.byteLength)
  out.set(payload, 4)
  return out
}

/** Sends one frame and closes our write side; waits for drain when the stream buffer is full. */
export async function writeFrame (stream: Stream, payload: Uint8Array, maxBytes: number, signal?: AbortSignal): Promise<void> {
  if (payload.byteLength > maxBytes) throw peersError('PEERS_MESSAGE_TOO_LARGE', `message of ${payload.byteLength} bytes exceeds the ${maxBytes}-byte limit`)
  if (!stream.send(frame(payload))) await stream.onDrain({ signal })
  await stream.close({ signal })
}

/**
 * Reads exactly one frame. The declared length is checked before the body is buffered, so an
 * oversized message costs at most a few chunks of memory. Throws on a short or oversized frame.
 */
export async function readFrame (stream: Stream, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
  const onAbort = (): void => { stream.abort(signal?.reason instanceof Error ? signal.reason : new Error('aborted')) }
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    if (signal?.aborted === true) onAbort()
    const chunks: Uint8Array[] = []
    let total = 0
    let need = -1
    for await (const chunk of stream) {
      const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
      chunks.push(bytes)
      total += bytes.byteLength
      if (need < 0 && total >= 4) {
        const head = concat(chunks, total)
        const length = new DataView(head.buffer, head.byteOffset, 4).getUint32(0)
        if (length > maxBytes) throw peersError('PEERS_MESSAGE_TOO_LARGE', `peer announced a ${length}-byte message; the limit is ${maxBytes}`)
        need = 4 + length
        chunks.length = 0
        chunks.push(head)
      }
      if (need >= 0 && total >= need) return concat(chunks, total).slice(4, need)
      if (total > maxBytes + 4) throw peersError('PEERS_MESSAGE_TOO_LARGE', `message exceeds the ${maxBytes}-byte limit`)
    }
    throw peersError('PEERS_REQUEST_FAILED', `stream ended after ${total} bytes, before a whole frame`)
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
}

export function concat (chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]
  const out = new Uint8Array(total)
  let at = 0
  for (const c of chunks) { out.set(c, at); at += c.byteLength }
  return out
}

/** Response payloads start with a status byte: 0 then the answer, or 1 then a JSON error { code, message }. */
export function okResponse (body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + body.byteLength)
  out[0] = 0
  out.set(body, 1)
  return out
}

export function errorResponse (code: string, message: string): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify({ code, message }))
  const out = new Uint8Array(1 + body.byteLength)
  out[0] = 1
  out.set(body, 1)
  return out
}

export type Response = { ok: true, body: Uint8Array } | { ok: false, code: string, message: string }

export function parseResponse (payload: Uint8Array): Response {
  if (payload.byteLength === 0) throw peersError('PEERS_REQUEST_FAILED', 'empty response')
  if (payload[0] === 0) return { ok: true, body: payload.subarray(1) }
  if (payload[0] !== 1) throw peersError('PEERS_REQUEST_FAILED', `unknown response status ${payload[0]}`)
  try {
    const v = JSON.parse(new TextDecoder().decode(payload.subarray(1))) as { code?: unknown, message?: unknown }
    return { ok: false, code: String(v.code), message: String(v.message) }
  } catch {
    throw peersError('PEERS_REQUEST_FAILED', 'malformed error response')
  }
}
