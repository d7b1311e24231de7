// The set of members a cell knows: the founding record plus every admission verified back to it.
import { closeMembership, verifyAdmission } from './admission.ts'
import type { Admission, Verdict } from './admission.ts'

/** Admissions whose admitter is not known yet (gossip can arrive out of order); bounded so a flood cannot grow memory. */
const MAX_ORPHANS = 256

export class Membership {
  readonly organism: string
  private founding: Admission | undefined
  private readonly accepted = new Map<string, Admission>()
  private orphans: Admission[] = []
  private readonly listeners = new Set<(record: Admission) => void>()

  constructor (organism: string) {
    this.organism = organism
  }

  /** Starts from a founding record and known admissions (from a join answer or a saved list); returns the rejected ones. */
  async reset (founding: Admission, records: readonly Admission[]): Promise<Array<{ record: Admission, reason: string }>> {
    const closure = await closeMembership(founding, records, this.organism)
    if (!closure.members.has(founding.peerId)) return closure.rejected
    this.founding = founding
    this.accepted.clear()
    for (const [id, record] of closure.accepted) this.accepted.set(id, record)
    this.orphans = []
    for (const record of closure.accepted.values()) this.emit(record)
    return closure.rejected
  }

  get genesis (): string | undefined { return this.founding?.peerId }

  has (peerId: string): boolean { return this.accepted.has(peerId) }

  members (): string[] { return [...this.accepted.keys()].sort() }

  /** Every accepted record, founding first: what a newcomer needs to rebuild the same set. */
  records (): Admission[] {
    const rest = [...this.accepted.values()].filter((r) => r !== this.founding)
    return this.founding == null ? rest : [this.founding, ...rest]
  }

  onAdmit (listener: (record: Admission) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** Adds one record; 'known' when the peer is already a member. Accepting one may adopt parked orphans. */
  async add (record: Admission): Promise<Verdict | { ok: true, known: true }> {
    if (this.founding == null) return { ok: false, reason: 'no founding record yet' }
    if (this.accepted.has(record.peerId)) return { ok: true, known: true }
    const verdict = await verifyAdmission(record, this.memberSet(), this.organism)
    if (!verdict.ok) {
      if (verdict.reason.startsWith('admitter') && this.orphans.length < MAX_ORPHANS) this.orphans.push(record)
      return verdict
    }
    this.accept(record)
    await this.adoptOrphans()
    return verdict
  }

  private async adoptOrphans (): Promise<void> {
    // Each pass either adopts one or more orphans or stops; bounded by the pool size.
    for (let pass = 0; pass < MAX_ORPHANS && this.orphans.length > 0; pass++) {
      const before = this.orphans.length
      const keep: Admission[] = []
      for (const orphan of this.orphans) {
        if (this.accepted.has(orphan.peerId)) continue
        const verdict = await verifyAdmission(orphan, this.memberSet(), this.organism)
        if (verdict.ok) this.accept(orphan)
        else keep.push(orphan)
      }
      this.orphans = keep
      if (keep.length === before) break
    }
  }

  private accept (record: Admission): void {
    this.accepted.set(record.peerId, record)
    this.emit(record)
  }

  private emit (record: Admission): void {
    for (const listener of this.listeners) listener(record)
  }

  private memberSet (): Set<string> { return new Set(this.accepted.keys()) }
}
