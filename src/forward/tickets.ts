// A forwarding key over the member link: the asking cell opens a stream, the owner writes one JSON ticket and ends.
import type { Duplex } from 'node:stream'
import { parsePskOffer } from '../core/psk-tls.ts'
import type { PskOffer } from '../core/psk-tls.ts'

/** A ticket is about 150 bytes; anything longer is not one. */
const MAX_TICKET_BYTES = 4096

export function serveTicket (stream: Duplex, ticket: PskOffer): void {
  stream.on('error', () => {})
  stream.end(JSON.stringify(ticket))
}

/** The ticket the owner sent, or an Error that says why there is none (read within timeoutMs). */
export async function readTicket (stream: Duplex, timeoutMs = 2000): Promise<PskOffer> {
  const chunks: Buffer[] = []
  let size = 0
  let value: unknown
  let whole = false
  const timer = setTimeout(() => { stream.destroy(new Error(`no forwarding ticket within ${timeoutMs} ms`)) }, timeoutMs)
  try {
    // Read until the ticket is whole, not until the stream ends: the owner's close of a member stream may wait for
    // ours, and ours comes only after this read (CI saw the ticket arrive and the end never come).
    for await (const chunk of stream) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array)
      size += b.length
      if (size > MAX_TICKET_BYTES) throw new Error(`a forwarding ticket longer than ${MAX_TICKET_BYTES} bytes`)
      chunks.push(b)
      try { value = JSON.parse(Buffer.concat(chunks).toString('utf8')); whole = true; break } catch {}
    }
  } finally {
    clearTimeout(timer)
    stream.destroy()
  }
  if (!whole) throw new Error('a forwarding ticket that is not JSON')
  const offer = parsePskOffer(value)
  if (offer == null) throw new Error('a malformed forwarding ticket')
  return offer
}
