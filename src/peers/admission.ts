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
  /** Where the chains start: the founder, or the successor an expulsion of it named. Null: no root is left. */
  readonly root: string | null
  /** Every valid, unexpired record of each member (a member renewed by others holds several). */
  readonly accepted: Map<string, Admission[]>
  /** Cells whose every admission expired less than one more ttl ago, with those records: they may still be renewed. */
  readonly lapsed: Map<string, Admission[]>
  /** The time admissions are judged at (horizonOf). */
  readonly horizon: number
  /** Records that could not be tied to the root, with the last reason seen. */
  readonly rejected: Array<{ record: Admission, reason: string }>
}

export interface ClosureOptions {
  /** Expelled peers, each with the cell that takes its place as the root if it was the root (null: none). */
  revoked?: ReadonlyMap<string, string | null>
  /** How long an admission counts after it was issued; none: for ever. */
  ttlMs?: number
  now?: number
  /** Signatures already checked (canonical bytes + signature), so a recomputation costs no crypto. */
  checked?: Set<string>
}

/** The root after expulsions: the founder, else the successor its expulsion named, and so on (null: none or a loop). */
export function rootOf (founder: string, revoked: ReadonlyMap<string, string | null>): string | null {
  let root: string | null = founder
  for (let step = 0; root != null && revoked.has(root); step++) {
    if (step > revoked.size) return null
    root = revoked.get(root) ?? null
  }
  return root
}

async function signedBy (record: Admission, members: ReadonlySet<string>, organism: string, checked: Set<string> | undefined): Promise<Verdict> {
  const key = checked == null ? '' : `${Buffer.from(canonicalAdmission(record)).toString('base64url')}.${record.signature}`
  if (checked?.has(key) === true && members.has(record.admittedBy)) return { ok: true }
  const verdict = await verifyAdmission(record, members, organism)
  if (verdict.ok) checked?.add(key)
  return verdict
}

/** Members reachable from the root through records that pass `fresh`; order of records does not matter. */
async function reach (root: string, founding: Admission, records: readonly Admission[], organism: string, revoked: ReadonlyMap<string, string | null>, fresh: (r: Admission) => boolean, checked: Set<string> | undefined) {
  const members = new Set<string>([root])
  const accepted = new Map<string, Admission[]>()
  if (root === founding.peerId) accepted.set(root, [founding])
  const reasons = new Map<Admission, string>()
  let pending = records.filter((r) => r !== founding)
  for (let pass = 0; pass <= records.length && pending.length > 0; pass++) {
    const next: Admission[] = []
    let grew = false
    for (const record of pending) {
      let verdict: Verdict
      if (revoked.has(record.peerId)) verdict = { ok: false, reason: 'the admitted cell was expelled' }
      else if (record.peerId === record.admittedBy) verdict = { ok: false, reason: 'self-admission outside genesis' }
      else if (!fresh(record)) verdict = { ok: false, reason: 'expired' }
      else if (!members.has(record.admittedBy)) verdict = { ok: false, reason: `admitter ${record.admittedBy} is not a member` }
      else verdict = await signedBy(record, members, organism, checked)
      if (verdict.ok) {
        if (!members.has(record.peerId)) grew = true
        members.add(record.peerId)
        accepted.set(record.peerId, [...(accepted.get(record.peerId) ?? []), record])
      } else {
        reasons.set(record, verdict.reason)
        next.push(record)
      }
    }
    pending = next
    if (!grew) break
  }
  return { members, accepted, rejected: pending.filter((r) => !members.has(r.peerId)).map((record) => ({ record, reason: reasons.get(record) ?? 'unverified' })) }
}

/**
 * The time expiry is judged at, from each member's newest (and, for `previous`, second newest) admission: the
 * median, so that it moves on only once more than half the members were renewed. One liar's clock, or a whole
 * organism switched off for a year, moves it nowhere.
 */
export function horizonOf (accepted: ReadonlyMap<string, readonly Admission[]>, now: number): { horizon: number, previous: number } {
  const newest: number[] = []
  const before: number[] = []
  for (const list of accepted.values()) {
    const times = list.map((r) => r.issuedAt).sort((x, y) => y - x)
    if (times.length === 0) continue
    newest.push(times[0])
    before.push(times[1] ?? times[0])
  }
  const median = (xs: number[]): number => xs.length === 0 ? 0 : xs.sort((x, y) => y - x)[Math.floor(xs.length / 2)]
  return { horizon: Math.min(now, median(newest)), previous: Math.min(now, median(before)) }
}

/**
 * The membership: every cell reachable from the root (the founding record's cell, or its successor after an
 * expulsion) through verified admissions whose admitter is itself a member; an expelled cell is none, so what it
 * signed counts for nothing. Admissions expire ttlMs after they were issued, judged at the horizon (horizonOf). A
 * cell whose admissions expired may still be renewed if it was in good standing when most members were renewed the
 * time before (after a power cut: before the cut), or lapsed less than one more ttl ago.
 */
export async function closeMembership (founding: Admission, records: readonly Admission[], organism: string, opts: ClosureOptions = {}): Promise<Closure> {
  const revoked = opts.revoked ?? new Map<string, string | null>()
  const none = (reason: string): Closure => ({ members: new Set(), root: null, accepted: new Map(), lapsed: new Map(), horizon: 0, rejected: [{ record: founding, reason }] })
  if (founding.peerId !== founding.admittedBy) return none('founding record is not self-signed')
  const genesis = await verifyAdmission(founding, new Set(), organism)
  if (!genesis.ok) return none(genesis.reason)
  const root = rootOf(founding.peerId, revoked)
  if (root == null) return none('every root of the organism was expelled')
  const everyone = await reach(root, founding, records, organism, revoked, () => true, opts.checked)
  const { horizon, previous } = horizonOf(everyone.accepted, opts.now ?? Infinity)
  const ttl = opts.ttlMs
  if (ttl == null) return { ...everyone, root, lapsed: new Map(), horizon }
  const live = await reach(root, founding, records, organism, revoked, (r) => horizon - r.issuedAt <= ttl, opts.checked)
  const lapsed = new Map<string, Admission[]>()
  for (const [id, list] of everyone.accepted) {
    const newest = Math.max(...list.map((r) => r.issuedAt))
    if (!live.members.has(id) && (horizon - newest <= 2 * ttl || previous - newest <= ttl)) lapsed.set(id, list)
  }
  return { ...live, root, lapsed, horizon }
}
