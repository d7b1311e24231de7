// Messages between cells: their types, and decoding that turns any bad input into undefined, never a throw.
import { asDigest, type Digest } from './digest.ts'
import type { MemberUpdate, SwimMsg } from './swim.ts'
import type { SignedRecord } from './types.ts'

/** Records ride along on probes and gossip; member updates ride along on everything. */
export type Wire =
  | (SwimMsg & { recs?: unknown[] })
  | { t: 'push', recs: unknown[], m?: MemberUpdate[] }
  | { t: 'ae', d: Digest, m?: MemberUpdate[] }
  | { t: 'ae-reply', recs: unknown[], want: string[] }

export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeWire (msg: Wire | { t: 'push', recs: SignedRecord[] }): Uint8Array {
  return encoder.encode(JSON.stringify(msg))
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)
const isSeq = (x: unknown): boolean => Number.isSafeInteger(x) && (x as number) >= 0
const LIVENESS = new Set(['alive', 'suspect', 'dead'])

function updatesOk (m: unknown): boolean {
  if (m === undefined) return true
  return Array.isArray(m) && m.length <= 64 && m.every((u) => isObj(u) && typeof u.id === 'string' && u.id.length <= 256 &&
    LIVENESS.has(u.s as string) && isSeq(u.inc) && typeof u.from === 'string' && u.from.length <= 256)
}

const recsOk = (r: unknown, max = 4096): boolean => r === undefined || (Array.isArray(r) && r.length <= max)

/** Checks the envelope only; each record inside is still checked by merge (and counted there if bad). */
export function asWire (x: unknown): Wire | undefined {
  if (!isObj(x) || !updatesOk(x.m)) return undefined
  switch (x.t) {
    case 'ping': case 'ack': case 'nack':
      return isSeq(x.seq) && recsOk(x.recs, 16) ? x as unknown as Wire : undefined
    case 'ping-req':
      return isSeq(x.seq) && typeof x.target === 'string' && x.target.length <= 256 ? x as unknown as Wire : undefined
    case 'push':
      return Array.isArray(x.recs) && recsOk(x.recs) ? x as unknown as Wire : undefined
    case 'ae':
      return asDigest(x.d) != null ? x as unknown as Wire : undefined
    case 'ae-reply':
      return recsOk(x.recs) && Array.isArray(x.want) && x.want.length <= 100_000 && x.want.every((k) => typeof k === 'string')
        ? x as unknown as Wire
        : undefined
    default:
      return undefined
  }
}

/** Decodes bytes from the network; undefined for oversized, non-UTF-8, non-JSON or wrongly shaped input. */
export function decodeWire (bytes: Uint8Array, maxBytes = DEFAULT_MAX_MESSAGE_BYTES): { msg?: Wire, problem?: 'too-large' | 'malformed' } {
  if (bytes.length > maxBytes) return { problem: 'too-large' }
  let parsed: unknown
  try { parsed = JSON.parse(decoder.decode(bytes)) } catch { return { problem: 'malformed' } }
  const msg = asWire(parsed)
  return msg == null ? { problem: 'malformed' } : { msg }
}
