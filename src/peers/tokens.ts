// One-time join tokens: encoding, and the member's book of hashed secrets with expiry (pure: the caller passes `now`).
import { createHash, randomBytes } from 'node:crypto'
import { peersError } from './errors.ts'

export interface JoinToken {
  readonly organism: string
  /** The issuing member's peer id (the joiner checks it through Noise when dialing). */
  readonly peerId: string
  /** Where the member listens. */
  readonly addrs: readonly string[]
  readonly secret: string
}

const PREFIX = 'org1.'
const MAX_TOKEN_CHARS = 4096
/** Used entries stay this long after expiry so a replay says "used", not "invalid"; then they go. */
const KEEP_AFTER_EXPIRY_MS = 60 * 60 * 1000
const MAX_ENTRIES = 10_000

export function encodeToken (t: JoinToken): string {
  return PREFIX + Buffer.from(JSON.stringify({ o: t.organism, p: t.peerId, a: t.addrs, s: t.secret })).toString('base64url')
}

export function decodeToken (text: string): JoinToken {
  const invalid = (why: string): Error => peersError('PEERS_TOKEN_INVALID', `join token is invalid: ${why}`)
  const trimmed = text.trim()
  if (!trimmed.startsWith(PREFIX) || trimmed.length > MAX_TOKEN_CHARS) throw invalid('it does not start with "org1." or is too long')
  let v: Record<string, unknown>
  try {
    v = JSON.parse(Buffer.from(trimmed.slice(PREFIX.length), 'base64url').toString('utf8'))
  } catch {
    throw invalid('it does not decode')
  }
  if (v == null || typeof v !== 'object' || typeof v.o !== 'string' || typeof v.p !== 'string' || typeof v.s !== 'string' ||
    !Array.isArray(v.a) || !v.a.every((x) => typeof x === 'string')) throw invalid('fields are missing')
  return { organism: v.o, peerId: v.p, addrs: v.a as string[], secret: v.s }
}

export function newSecret (): string { return randomBytes(32).toString('base64url') }

function hashSecret (secret: string): string { return createHash('sha256').update(secret).digest('hex') }

interface Entry { expiresAt: number, usedAt?: number }

/** The member side: it keeps only hashes, so a leaked book does not leak usable tokens. */
export class TokenBook {
  private readonly entries = new Map<string, Entry>()

  issue (secret: string, now: number, ttlMs: number): { expiresAt: number } {
    if (!(ttlMs > 0)) throw new RangeError('ttlMs must be > 0')
    this.prune(now)
    if (this.entries.size >= MAX_ENTRIES) throw new RangeError('too many open join tokens')
    const expiresAt = now + ttlMs
    this.entries.set(hashSecret(secret), { expiresAt })
    return { expiresAt }
  }

  /** Consumes the secret or throws PEERS_TOKEN_USED / _EXPIRED / _INVALID. */
  redeem (secret: string, now: number): void {
    const entry = this.entries.get(hashSecret(secret))
    if (entry == null) throw peersError('PEERS_TOKEN_INVALID', 'join token is not known to this member')
    if (entry.usedAt != null) throw peersError('PEERS_TOKEN_USED', 'join token was already used')
    if (now >= entry.expiresAt) throw peersError('PEERS_TOKEN_EXPIRED', 'join token has expired')
    entry.usedAt = now
  }

  get size (): number { return this.entries.size }

  private prune (now: number): void {
    for (const [hash, entry] of this.entries) if (now >= entry.expiresAt + KEEP_AFTER_EXPIRY_MS) this.entries.delete(hash)
  }
}
