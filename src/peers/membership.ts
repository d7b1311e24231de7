// The set of members a cell knows: every admission verified back to the root, minus the expelled and the expired.
// Changes are computed from scratch (checked signatures are cached, so that costs no crypto) one at a time.
import { closeMembership, verifyAdmission } from './admission.ts'
import type { Admission, Closure, Verdict } from './admission.ts'

/** Admissions whose admitter is not known yet (gossip can arrive out of order); bounded so a flood cannot grow memory. */
const MAX_ORPHANS = 256
/** Records kept per member (see trim). */
const MAX_PER_MEMBER = 4

export interface MembershipOptions {
  /** How long an admission counts after it was issued (renewals extend it); none: for ever. */
  ttlMs?: number
  now?: () => number
}

export type MembershipChange =
  | { type: 'admitted', peerId: string, record: Admission }
  | { type: 'renewed', peerId: string, record: Admission }
  | { type: 'removed', peerId: string, why: 'expelled' | 'expired' | 'unrooted' }

const sigOf = (r: Admission): string => r.signature

export class Membership {
  readonly organism: string
  private readonly opts: MembershipOptions
  private founding: Admission | undefined
  private closure: Closure | null = null
  private orphans: Admission[] = []
  private readonly revoked = new Map<string, string | null>()
  private readonly checked = new Set<string>()
  private readonly listeners = new Set<(change: MembershipChange) => void>()
  private queue: Promise<unknown> = Promise.resolve()

  constructor (organism: string, opts: MembershipOptions = {}) {
    this.organism = organism
    this.opts = opts
  }

  /** Starts from a founding record, known admissions and expulsions (a join answer or a saved list); returns the rejected. */
  async reset (founding: Admission, records: readonly Admission[], revoked: ReadonlyMap<string, string | null> = new Map()): Promise<Array<{ record: Admission, reason: string }>> {
    return await this.serial(async () => {
      const closure = await closeMembership(founding, records, this.organism, this.closureOptions(revoked))
      if (closure.root == null) return closure.rejected
      this.founding = founding
      for (const [id, successor] of revoked) this.revoked.set(id, successor)
      this.orphans = []
      this.commit(closure)
      return closure.rejected
    })
  }

  get genesis (): string | undefined { return this.founding?.peerId }

  /** The root admissions hang from now: the founder, or the successor an expulsion named. */
  get root (): string | undefined { return this.closure?.root ?? undefined }

  has (peerId: string): boolean { return this.closure?.members.has(peerId) === true }

  members (): string[] { return [...(this.closure?.members ?? [])].sort() }

  /** A member whose admissions all expired: when its newest was issued (it may ask a member to renew it). */
  lapsedAt (peerId: string): number | undefined {
    const list = this.lapsedRecords(peerId)
    return list.length === 0 ? undefined : Math.max(...list.map((r) => r.issuedAt))
  }

  /** The records of a cell whose admissions all lapsed lately (empty for a member, or one gone too long). */
  lapsedRecords (peerId: string): Admission[] { return [...(this.closure?.lapsed.get(peerId) ?? [])] }

  /** The time expiry is judged at (see closeMembership). */
  horizon (): number { return this.closure?.horizon ?? 0 }

  /** This member's admissions, newest first. */
  recordsOf (peerId: string): Admission[] { return [...(this.closure?.accepted.get(peerId) ?? [])].sort((a, b) => b.issuedAt - a.issuedAt) }

  isExpelled (peerId: string): boolean { return this.revoked.has(peerId) }

  expelled (): Map<string, string | null> { return new Map(this.revoked) }

  /** Every accepted record (and those of lapsed cells), founding first: what a newcomer needs to rebuild the same set. */
  records (): Admission[] {
    const rest = [...(this.closure?.accepted.values() ?? []), ...(this.closure?.lapsed.values() ?? [])].flat().filter((r) => r !== this.founding)
    return this.founding == null ? rest : [this.founding, ...rest]
  }

  onChange (listener: (change: MembershipChange) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** Adds one record; 'known' when it is known already. A new admitter may adopt parked orphans. */
  async add (record: Admission): Promise<Verdict | { ok: true, known: true }> {
    return await this.serial(async () => {
      if (this.founding == null || this.closure == null) return { ok: false, reason: 'no founding record yet' }
      if (this.records().some((r) => sigOf(r) === sigOf(record))) return { ok: true, known: true }
      if (this.revoked.has(record.peerId)) return { ok: false, reason: 'the admitted cell was expelled' }
      const verdict = await verifyAdmission(record, this.closure.members, this.organism)
      if (!verdict.ok) {
        if (verdict.reason.startsWith('admitter') && this.orphans.length < MAX_ORPHANS && !this.orphans.some((o) => sigOf(o) === sigOf(record))) this.orphans.push(record)
        return verdict
      }
      const closure = await this.recompute([record])
      if (!(closure.accepted.get(record.peerId) ?? []).includes(record)) return { ok: false, reason: 'expired' }
      this.commit(closure)
      return verdict
    })
  }

  /** Removes a member for good (its expulsion was verified by the caller); returns the cells that are no longer members. */
  async expel (peerId: string, successor: string | null): Promise<string[]> {
    return await this.serial(async () => {
      if (this.revoked.has(peerId) || this.founding == null) return []
      const before = new Set(this.closure?.members ?? [])
      this.revoked.set(peerId, successor)
      this.commit(await this.recompute([]))
      return [...before].filter((id) => !this.has(id))
    })
  }

  /** Judges expiry again (time moved on); returns the cells that lapsed. */
  async refresh (): Promise<string[]> {
    return await this.serial(async () => {
      if (this.founding == null) return []
      const before = new Set(this.closure?.members ?? [])
      this.commit(await this.recompute([]))
      return [...before].filter((id) => !this.has(id))
    })
  }

  private closureOptions (revoked: ReadonlyMap<string, string | null>) {
    return { revoked, ttlMs: this.opts.ttlMs, now: this.opts.now?.(), checked: this.checked }
  }

  private async recompute (extra: Admission[]): Promise<Closure> {
    return await closeMembership(this.founding as Admission, [...this.records(), ...this.orphans, ...extra], this.organism, this.closureOptions(this.revoked))
  }

  /** Takes a new closure: trims each member's records, parks what hangs from no member yet, and says what changed. */
  private commit (next: Closure): void {
    const before = this.closure
    for (const map of [next.accepted, next.lapsed]) for (const [id, list] of map) map.set(id, trim(list))
    const known = new Set(next.rejected.map((r) => sigOf(r.record)))
    this.orphans = this.orphans.filter((o) => known.has(sigOf(o))).concat(next.rejected.filter((r) => r.reason.startsWith('admitter') && !this.orphans.includes(r.record)).map((r) => r.record)).slice(-MAX_ORPHANS)
    this.closure = next
    if (this.checked.size > 100_000) this.checked.clear()
    for (const [id, list] of next.accepted) {
      const old = before?.accepted.get(id)
      if (old == null) this.emit({ type: 'admitted', peerId: id, record: list[0] })
      else for (const r of list) if (!old.some((o) => sigOf(o) === sigOf(r))) this.emit({ type: 'renewed', peerId: id, record: r })
    }
    for (const id of before?.members ?? []) {
      if (next.members.has(id)) continue
      this.emit({ type: 'removed', peerId: id, why: this.revoked.has(id) ? 'expelled' : next.lapsed.has(id) ? 'expired' : 'unrooted' })
    }
  }

  private emit (change: MembershipChange): void {
    for (const listener of this.listeners) { try { listener(change) } catch {} }
  }

  private async serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => {})
    return await run
  }
}

/**
 * Newest first, at most MAX_PER_MEMBER, at most two from one admitter: the two newest say when most members were
 * renewed the time before (horizonOf), and several admitters keep a cell in when one of them is expelled.
 */
function trim (list: Admission[]): Admission[] {
  const perAdmitter = new Map<string, number>()
  const kept: Admission[] = []
  for (const r of [...list].sort((a, b) => b.issuedAt - a.issuedAt)) {
    const n = perAdmitter.get(r.admittedBy) ?? 0
    if (n >= 2 || kept.length >= MAX_PER_MEMBER) continue
    perAdmitter.set(r.admittedBy, n + 1)
    kept.push(r)
  }
  return kept
}
