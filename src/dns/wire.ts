// Wire details dns-packet leaves to us: rcode in the flags, truncation, header-only FORMERR, TCP length framing.
import { encode, encodingLength, TRUNCATED_RESPONSE } from 'dns-packet'
import type { Packet, Answer } from 'dns-packet'

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10 } as const
const RCODE_NAMES = new Map<number, string>(Object.entries(RCODE).map(([k, v]) => [v, k]))

export function rcodeName (rcode: number): string {
  return RCODE_NAMES.get(rcode) ?? `RCODE${rcode}`
}

export const OPCODE_QUERY = 0
export const OPCODE_UPDATE = 5
export const QR_BIT = 0x8000
/** Largest UDP answer we send with EDNS (RFC 9715 / DNS flag day 2020: avoids IP fragmentation). */
export const EDNS_PAYLOAD = 1232

export function opcodeOf (flags: number): number {
  return (flags >> 11) & 0xf
}

/** dns-packet's encode() ignores `rcode`, so the low four bits of the flags carry it. */
export function withRcode (flags: number, rcode: number): number {
  return (flags & ~0xf) | (rcode & 0xf)
}

export function rcodeOf (packet: Packet): number {
  return (packet.flags ?? 0) & 0xf
}

/** The size limit for a UDP answer to this query: 512 without EDNS, else the client's size within [512, EDNS_PAYLOAD]. */
export function udpLimit (query: Packet): number {
  const opt = (query.additionals ?? []).find((rr) => rr.type === 'OPT')
  if (opt == null) return 512
  return Math.max(512, Math.min(opt.udpPayloadSize, EDNS_PAYLOAD))
}

/** Encodes an answer; one that does not fit `limit` is sent with TC set and only its question (and OPT), RFC 2181 §9. */
export function encodeResponse (response: Packet, limit: number): { bytes: Buffer, truncated: boolean } {
  if (encodingLength(response) <= limit) return { bytes: encode(response), truncated: false }
  const additionals: Answer[] = (response.additionals ?? []).filter((rr) => rr.type === 'OPT')
  // Additional data is optional: drop it before giving up on the answer itself.
  const lean: Packet = { ...response, additionals }
  if (encodingLength(lean) <= limit) return { bytes: encode(lean), truncated: false }
  const cut: Packet = { ...response, flags: (response.flags ?? 0) | TRUNCATED_RESPONSE, answers: [], authorities: [], additionals }
  return { bytes: encode(cut), truncated: true }
}

/** A FORMERR for bytes that have a DNS header but do not decode: id, opcode and RD echoed, no sections. */
export function headerOnlyReply (query: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12)
  out.writeUInt16BE(query.readUInt16BE(0), 0)
  const flags = query.readUInt16BE(2)
  out.writeUInt16BE(QR_BIT | (flags & 0x7800) | (flags & 0x0100) | (rcode & 0xf), 2)
  return out
}

/** Prefixes a message with its 2-byte length (RFC 1035 §4.2.2). */
export function frame (message: Buffer): Buffer {
  const len = Buffer.alloc(2)
  len.writeUInt16BE(message.length, 0)
  return Buffer.concat([len, message])
}

/** Splits a TCP byte stream into length-prefixed messages; keeps any incomplete tail for the next chunk. */
export class Deframer {
  private pending: Buffer = Buffer.alloc(0)

  push (chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    const out: Buffer[] = []
    while (this.pending.length >= 2) {
      const len = this.pending.readUInt16BE(0)
      if (this.pending.length < 2 + len) break
      out.push(this.pending.subarray(2, 2 + len))
      this.pending = this.pending.subarray(2 + len)
    }
    return out
  }
}
