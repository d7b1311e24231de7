// Admission records: who admitted whom into which organism, signed by the admitter (pure: no I/O).
import { randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'

export interface Admission {
  readonly organism: string
  /** The admitted cell's peer id. */
  readonly peerId: string
  /** The member that signed; equal to peerId only in the genesis (founding) record. */
  readonly admittedBy: string
  /** Admitter's wall clock, ms; informative only, never used for ordering. */
  readonly issuedAt: number
  readonly nonce: string
  /** ed25519 signature of canonicalAdmission(), base64url. */
  readonly signature: string
}

export type Verdict = { ok: true } | { ok: false, reason: string }

const DOMAIN = 'organism/admission/v1'
const MAX_FIELD = 256

/** The exact bytes that are signed: a JSON array with a domain tag, so no other signed thing can pass for an admission. */
export function canonicalAdmission (a: Omit<Admission, 'signature'>): Uint8Array {
  return new TextEncoder().encode(JSON.stringify([DOMAIN, a.organism, a.peerId, a.admittedBy, a.issuedAt, a.nonce]))
}

export async function signAdmission (key: PrivateKey, fields: { organism: string, peerId: string, admittedBy: string, issuedAt: number, nonce?: string }): Promise<Admission> {
  const unsigned = { ...fields, nonce: fields.nonce ?? randomBytes(16).toString('base64url') }
  const signature = Buffer.from(await key.sign(canonicalAdmission(unsigned))).toString('base64url')
  return { ...unsigned, signature }
}

/** Checks the shape of untrusted input; returns the record with only known fields. */
export function parseAdmission (value: unknown): Admission | undefined {
  if (value == null || typeof value !== 'object') return undefined
  const v = value as Record<string, unknown>
  for (const k of ['organism', 'peerId', 'admittedBy', 'nonce', 'signature']) {
    if (typeof v[k] !== 'string' || (v[k] as string).length === 0 || (v[k] as string).length > MAX_FIELD) return undefined
  }
  if (typeof v.issuedAt !== 'number' || !Number.isSafeInteger(v.issuedAt)) return undefined
  return { organism: v.organism as string, peerId: v.peerId as string, admittedBy: v.admittedBy as string, issuedAt: v.issuedAt, nonce: v.nonce as string, signature: v.signature as string }
}

/**
 * Verifies one record against the members known so far. A self-signed record is valid only as the
 * founding record (no members yet); any other needs a member's signature, checked with the public key
 * that the admitter's ed25519 peer id carries inside itself.
 */
export async function verifyAdmission (record: Admission, members: ReadonlySet<string>, organism: string): Promise<Verdict> {
  if (record.organism !== organism) return { ok: false, reason: `organism "${record.organism}" is not "${organism}"` }
  const selfSigned = record.peerId === record.admittedBy
  if (selfSigned && members.size > 0 && !members.has(record.peerId)) return { ok: false, reason: 'self-admission outside genesis' }
  if (!selfSigned && !members.has(record.admittedBy)) return { ok: false, reason: `admitter ${record.admittedBy} is not a member` }
  let admitted, admitter
  try {
    admitted = peerIdFromString(record.peerId)
    admitter = peerIdFromString(record.admittedBy)
  } catch {
    return { ok: false, reason: 'peer id does not parse' }
  }
  if (admitted.type !== 'Ed25519' || admitter.type !== 'Ed25519') return { ok: false, reason: 'only ed25519 peer ids may be members' }
  let signature: Uint8Array
  try {
    signature = Buffer.from(record.signature, 'base64url')
  } catch {
    return { ok: false, reason: 'signature is not base64url' }
  }
  let valid = false
  try {
    valid = await admitter.publicKey.verify(canonicalAdmission(record), signature)
  } catch {
    valid = false
  }
  return valid ? { ok: true } : { ok: false, reason: 'signature does not verify' }
}

export interface Closure {
  readonly members: Set<string>
  /** Accepted records by admitted peer id (the first valid one wins). */
  readonly accepted: Map<string, Admission>
  /** Records that could not be tied to genesis, with the last reason seen. */
  readonly rejected: Array<{ record: Admission, reason: string }>
}

/**
 * The membership: every cell reachable from the founding record through verified admissions.
 * Passes repeat until nothing new is accepted, at most records.length + 1 times, so order does not matter.
 */
export async function closeMembership (founding: Admission, records: readonly Admission[], organism: string): Promise<Closure> {
  const members = new Set<string>()
  const accepted = new Map<string, Admission>()
  if (founding.peerId !== founding.admittedBy) return { members, accepted, rejected: [{ record: founding, reason: 'founding record is not self-signed' }] }
  const genesis = await verifyAdmission(founding, members, organism)
  if (!genesis.ok) return { members, accepted, rejected: [{ record: founding, reason: genesis.reason }] }
  members.add(founding.peerId)
  accepted.set(founding.peerId, founding)
  let pending = records.filter((r) => r !== founding)
  const reasons = new Map<Admission, string>()
  for (let pass = 0; pass <= records.length && pending.length > 0; pass++) {
    const next: Admission[] = []
    for (const record of pending) {
      if (members.has(record.peerId)) continue
      const verdict = await verifyAdmission(record, members, organism)
      if (verdict.ok) {
        members.add(record.peerId)
        accepted.set(record.peerId, record)
      } else {
        reasons.set(record, verdict.reason)
        next.push(record)
      }
    }
    if (next.length === pending.length) break
    pending = next
  }
  return { members, accepted, rejected: pending.filter((r) => !members.has(r.peerId)).map((record) => ({ record, reason: reasons.get(record) ?? 'unverified' })) }
}
