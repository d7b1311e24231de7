// When a cell asks for its admission to be renewed, and whom (pure). A cell keeps admissions from two members, so
// that one expelled admitter does not take it along, and asks again when its newest is a third of the ttl old.
import type { Admission } from './admission.ts'

export interface RenewalFacts {
  readonly self: string
  /** This cell's admissions, live or lapsed. */
  readonly mine: readonly Admission[]
  readonly members: readonly string[]
  readonly connected: ReadonlySet<string>
  readonly now: number
  readonly renewAfterMs: number
  readonly random: () => number
}

/** The member to ask for a renewal now, or null when none is needed (or there is nobody to ask). */
export function renewalTarget (f: RenewalFacts): string | null {
  const newest = Math.max(-Infinity, ...f.mine.map((r) => r.issuedAt))
  const others = f.members.filter((id) => id !== f.self)
  const recent = new Set(f.mine.filter((r) => f.now - r.issuedAt < 2 * f.renewAfterMs).map((r) => r.admittedBy))
  if (recent.size >= Math.min(2, others.length) && f.now - newest < f.renewAfterMs) return null
  // Someone who has not vouched for us lately, connected if possible.
  const fresh = others.filter((id) => !recent.has(id))
  const near = fresh.filter((id) => f.connected.has(id))
  const pool = near.length > 0 ? near : fresh.length > 0 ? fresh : others
  return pool.length === 0 ? null : pool[Math.floor(f.random() * pool.length)]
}
