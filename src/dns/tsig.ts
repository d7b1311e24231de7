// TSIG (RFC 8945) with node:crypto: sign a request, find and verify the TSIG record of its response.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { dnsError } from './errors.ts'

export type TsigAlgorithm = 'hmac-sha256' | 'hmac-sha384' | 'hmac-sha512'

export interface TsigKey {
  /** The key's name as in the server's `key "<name>" { … }` clause. */
  name: string
  algorithm: TsigAlgorithm
  /** Base64, as tsig-keygen prints it. */
  secret: string
}

const HASH: Record<TsigAlgorithm, string> = { 'hmac-sha256': 'sha256', 'hmac-sha384': 'sha384', 'hmac-sha512': 'sha512' }
export const TYPE_TSIG = 250
export const CLASS_ANY = 255
/** RFC 8945 §5.2.3: the usual allowed clock difference. */
export const FUDGE = 300
export const TSIG_ERRORS: Record<number, string> = { 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 22: 'BADTRUNC' }

/** A domain name in uncompressed, lower-case wire form (the canonical form TSIG digests use). */
export function wireName (name: string): Buffer {
  const labels = name.toLowerCase().replace(/\.+$/, '').split('.').filter((l) => l !== '')
  const parts: Buffer[] = []
  for (const label of labels) {
    const bytes = Buffer.from(label, 'utf8')
    if (bytes.length > 63) throw new Error(`label too long in ${name}`)
    parts.push(Buffer.from([bytes.length]), bytes)
  }
  parts.push(Buffer.from([0]))
  const out = Buffer.concat(parts)
  if (out.length > 255) throw new Error(`name too long: ${name}`)
  return out
}

function secretOf (key: TsigKey): Buffer {
  const secret = Buffer.from(key.secret, 'base64')
  if (HASH[key.algorithm] == null || secret.length === 0 || secret.toString('base64').replace(/=+$/, '') !== key.secret.replace(/\s/g, '').replace(/=+$/, '')) {
    throw dnsError('DNS_INVALID_KEY', `TSIG key "${key.name}" needs a supported algorithm (${Object.keys(HASH).join(', ')}) and a base64 secret`)
  }
  return secret
}

function u48 (seconds: number): Buffer {
  const b = Buffer.alloc(6)
  b.writeUInt16BE(Math.floor(seconds / 2 ** 32) & 0xffff, 0)
  b.writeUInt32BE(seconds >>> 0, 2)
  return b
}

interface TsigFields { timeSigned: number, fudge: number, error: number, other: Buffer }

/** RFC 8945 §4.3.3: the TSIG variables appended to the message for the digest. */
function variables (key: TsigKey, f: TsigFields): Buffer {
  const mid = Buffer.alloc(6)
  mid.writeUInt16BE(CLASS_ANY, 0) // class ANY, then TTL 0
  const tail = Buffer.alloc(6)
  tail.writeUInt16BE(f.fudge, 0)
  tail.writeUInt16BE(f.error, 2)
  tail.writeUInt16BE(f.other.length, 4)
  return Buffer.concat([wireName(key.name), mid, wireName(key.algorithm), u48(f.timeSigned), tail, f.other])
}

function hmac (key: TsigKey, ...parts: Buffer[]): Buffer {
  const h = createHmac(HASH[key.algorithm], secretOf(key))
  for (const p of parts) h.update(p)
  return h.digest()
}

/** Appends a TSIG record to an unsigned message; returns the signed bytes and the MAC the response must chain to. */
export function signMessage (message: Buffer, key: TsigKey, nowSeconds: number): { signed: Buffer, mac: Buffer } {
  const fields: TsigFields = { timeSigned: Math.floor(nowSeconds), fudge: FUDGE, error: 0, other: Buffer.alloc(0) }
  const mac = hmac(key, message, variables(key, fields))
  const macLen = Buffer.alloc(2)
  macLen.writeUInt16BE(mac.length, 0)
  const tail = Buffer.alloc(6)
  tail.writeUInt16BE(message.readUInt16BE(0), 0) // original id; error 0, other length 0
  const rdata = Buffer.concat([wireName(key.algorithm), u48(fields.timeSigned), Buffer.from([fields.fudge >> 8, fields.fudge & 0xff]), macLen, mac, tail])
  const head = Buffer.alloc(10)
  head.writeUInt16BE(TYPE_TSIG, 0)
  head.writeUInt16BE(CLASS_ANY, 2)
  head.writeUInt32BE(0, 4)
  head.writeUInt16BE(rdata.length, 8)
  const signed = Buffer.concat([message, wireName(key.name), head, rdata])
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10) // ARCOUNT + 1
  return { signed, mac }
}

export interface ResponseTsig extends TsigFields {
  keyName: string
  algorithm: string
  mac: Buffer
  originalId: number
  /** Offset where the TSIG record starts: the digest covers the bytes before it. */
  start: number
}

/** Reads a name (following compression pointers) and returns it with the offset just after it in the message. */
function readName (buf: Buffer, offset: number): { name: string, next: number } {
  const labels: string[] = []
  let next = -1
  for (let hops = 0; hops < 64; hops++) {
    const len = buf.readUInt8(offset)
    if (len === 0) return { name: labels.join('.'), next: next === -1 ? offset + 1 : next }
    if ((len & 0xc0) === 0xc0) {
      if (next === -1) next = offset + 2
      offset = buf.readUInt16BE(offset) & 0x3fff
      continue
    }
    labels.push(buf.toString('utf8', offset + 1, offset + 1 + len).toLowerCase())
    offset += 1 + len
  }
  throw new Error('name compression loop')
}

/** Finds the TSIG record, which RFC 8945 requires to be the last additional record; undefined when unsigned. */
export function findTsig (buf: Buffer): ResponseTsig | undefined {
  const counts = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o))
  let offset = 12
  for (let i = 0; i < counts[0]; i++) offset = readName(buf, offset).next + 4
  const records = counts[1] + counts[2] + counts[3]
  for (let i = 0; i < records; i++) {
    const start = offset
    const owner = readName(buf, offset)
    const type = buf.readUInt16BE(owner.next)
    const rdlen = buf.readUInt16BE(owner.next + 8)
    const rdata = owner.next + 10
    offset = rdata + rdlen
    if (offset > buf.length) throw new Error('record runs past the end of the message')
    if (type !== TYPE_TSIG) continue
    if (i !== records - 1) throw new Error('TSIG record is not the last one')
    const alg = readName(buf, rdata)
    let p = alg.next
    const timeSigned = buf.readUInt16BE(p) * 2 ** 32 + buf.readUInt32BE(p + 2)
    const fudge = buf.readUInt16BE(p + 6)
    const macLen = buf.readUInt16BE(p + 8)
    const mac = buf.subarray(p + 10, p + 10 + macLen)
    p += 10 + macLen
    const otherLen = buf.readUInt16BE(p + 4)
    return { keyName: owner.name, algorithm: alg.name, timeSigned, fudge, mac, originalId: buf.readUInt16BE(p), error: buf.readUInt16BE(p + 2), other: buf.subarray(p + 6, p + 6 + otherLen), start }
  }
  return undefined
}

/** Checks a response's MAC against the request's (RFC 8945 §5.3); returns a reason when it does not verify. */
export function verifyResponse (buf: Buffer, tsig: ResponseTsig, requestMac: Buffer, key: TsigKey, nowSeconds: number): string | undefined {
  if (tsig.keyName !== key.name.toLowerCase().replace(/\.+$/, '')) return `signed with key "${tsig.keyName}", expected "${key.name}"`
  if (tsig.algorithm !== key.algorithm) return `signed with algorithm ${tsig.algorithm}, expected ${key.algorithm}`
  const unsigned = Buffer.from(buf.subarray(0, tsig.start))
  unsigned.writeUInt16BE(tsig.originalId, 0)
  unsigned.writeUInt16BE(unsigned.readUInt16BE(10) - 1, 10)
  const prior = Buffer.alloc(2)
  prior.writeUInt16BE(requestMac.length, 0)
  const expected = hmac(key, prior, requestMac, unsigned, variables(key, tsig))
  if (tsig.mac.length !== expected.length || !timingSafeEqual(tsig.mac, expected)) return 'the MAC does not match'
  if (Math.abs(nowSeconds - tsig.timeSigned) > tsig.fudge) return `signed ${Math.round(nowSeconds - tsig.timeSigned)} s away from our clock (fudge ${tsig.fudge} s)`
  return undefined
}
