// An expulsion as the peer network carries it: an operator's signed statement that a member is out for good. The
// signature is checked by a verifier the caller passes (the genome knows the operators' keys).
import { peersError } from './errors.ts'

export interface Expulsion {
  /** JSON with organism, kind "expel", peer, successor: what was signed, byte for byte. */
  readonly payload: string
  readonly signature: string
}

export interface ExpulsionFacts {
  readonly organism: string
  readonly peer: string
  /** Who takes the expelled cell's place as the root of admissions, when it was the root. */
  readonly successor: string | null
}

const MAX_PAYLOAD = 2048
const MAX_SIGNATURE = 8192

/** The facts of an expulsion from untrusted input, or undefined when it is not one. */
export function expulsionFacts (value: unknown): { expulsion: Expulsion, facts: ExpulsionFacts } | undefined {
  if (value == null || typeof value !== 'object') return undefined
  const v = value as Record<string, unknown>
  if (typeof v.payload !== 'string' || typeof v.signature !== 'string' || v.payload.length > MAX_PAYLOAD || v.signature.length > MAX_SIGNATURE) return undefined
  let p: Record<string, unknown>
  try { p = JSON.parse(v.payload) as Record<string, unknown> } catch { return undefined }
  if (p == null || p.kind !== 'expel' || typeof p.organism !== 'string' || typeof p.peer !== 'string' || p.peer.length === 0) return undefined
  if (p.successor != null && typeof p.successor !== 'string') return undefined
  return { expulsion: { payload: v.payload, signature: v.signature }, facts: { organism: p.organism, peer: p.peer, successor: (p.successor as string | null | undefined) ?? null } }
}

/** Checks an expulsion's signature and that it was signed for this organism; throws with the reason otherwise. */
export type VerifyExpulsion = (expulsion: Expulsion, facts: ExpulsionFacts) => Promise<void>

/** The expulsions this cell has checked, by expelled peer: what it saves, answers in syncs and hands to newcomers. */
export class ExpulsionBook {
  private readonly organism: string
  private readonly verify: VerifyExpulsion | undefined
  private readonly byPeer = new Map<string, Expulsion>()

  constructor (organism: string, verify: VerifyExpulsion | undefined) {
    this.organism = organism
    this.verify = verify
  }

  /** Checks one from untrusted input (its shape, organism and signature); throws PEERS_EXPULSION_INVALID. */
  async check (raw: unknown): Promise<{ expulsion: Expulsion, peer: string, successor: string | null }> {
    const read = expulsionFacts(raw)
    if (read == null) throw peersError('PEERS_EXPULSION_INVALID', 'not an expulsion')
    if (read.facts.organism !== this.organism) throw peersError('PEERS_EXPULSION_INVALID', `the expulsion is for organism "${read.facts.organism}"`)
    if (this.verify == null) throw peersError('PEERS_EXPULSION_INVALID', 'this cell has no way to check expulsions')
    await this.verify(read.expulsion, read.facts).catch((err: unknown) => {
      throw peersError('PEERS_EXPULSION_INVALID', `expulsion of ${read.facts.peer} refused: ${(err as Error).message}`, { cause: err })
    })
    return { expulsion: read.expulsion, peer: read.facts.peer, successor: read.facts.successor }
  }

  /** Checks a list (saved, or in a join answer) and keeps the good ones; returns them as a membership's revocations. */
  async checkAll (list: readonly unknown[], refused: (err: unknown) => void): Promise<Map<string, string | null>> {
    const revoked = new Map<string, string | null>()
    for (const raw of list.slice(0, 10_000)) {
      try {
        const e = await this.check(raw)
        this.byPeer.set(e.peer, e.expulsion)
        revoked.set(e.peer, e.successor)
      } catch (err) { refused(err) }
    }
    return revoked
  }

  keep (peer: string, expulsion: Expulsion): void { this.byPeer.set(peer, expulsion) }

  list (): Expulsion[] { return [...this.byPeer.values()] }
}
