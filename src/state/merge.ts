// The merge rule (pure): which of two records for one key wins, and the verdict on each incoming record.
import { fnv1a } from './canon.ts'
import { asRecord, cellKey, DEFAULT_MAX_RECORD_BYTES, recordSize, signedBytes } from './record.ts'
import type { Verify } from './sign.ts'
import type { SignedRecord, Verdict } from './types.ts'

export type Store = ReadonlyMap<string, SignedRecord>

/**
 * A record's rank as [epoch, tie, version]; compared left to right, higher wins. Cell records: [0, 0, version].
 * Placements: epoch first; at the same epoch two owners (a healed partition) are ordered by a hash of
 * (fn, owner), so every cell picks the same winner without a clock; then the owner's own version.
 */
export type Summary = readonly [number, number, number]

export function summary (r: SignedRecord): Summary {
  if (r.body.kind === 'placement') return [r.body.epoch, tieRank(r.body.fn, r.body.owner), r.version]
  return [0, 0, r.version]
}

export function tieRank (fn: string, owner: string): number { return fnv1a(`${fn}\n${owner}`) }

export function compareSummary (a: Summary, b: Summary): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2]
}

export interface Judgement {
  verdict: Verdict
  record?: SignedRecord
  /** Set when a placement changed hands: the owner that lost it (by a higher epoch or the tie-break). */
  displaced?: string
}

export interface MergeOptions { maxRecordBytes?: number }

/** Decides what to do with an incoming record without changing the store. */
export function judge (store: Store, input: unknown, verify: Verify, opts: MergeOptions = {}): Judgement {
  const r = asRecord(input)
  if (r == null) return { verdict: 'malformed' }
  // Who may write: a cell its own record, an owner its placement.
  if (r.body.kind === 'placement' ? r.body.owner !== r.writer : r.key !== cellKey(r.writer)) return { verdict: 'wrong-writer', record: r }
  const cur = store.get(r.key)
  if (cur != null) {
    const order = compareSummary(summary(r), summary(cur))
    if (order < 0) return { verdict: 'stale', record: r }
    // Checking the signature only when it could change something keeps replays cheap.
    if (order === 0 && r.sig === cur.sig) return { verdict: 'duplicate', record: r }
    if (order === 0 && r.sig <= cur.sig) return { verdict: 'stale', record: r }
  }
  // Size and signature cost an encoding each: only records that would change the store pay for them.
  if (recordSize(r) > (opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES)) return { verdict: 'too-large' }
  if (!verify(r.writer, signedBytes(r), r.sig)) return { verdict: 'forged', record: r }
  const displaced = cur?.body.kind === 'placement' && cur.body.owner !== r.writer ? cur.body.owner : undefined
  return { verdict: 'applied', record: r, displaced }
}

/** Pure merge: a new store (a copy, only when applied) and the verdict. */
export function merge (store: Store, input: unknown, verify: Verify, opts: MergeOptions = {}): { store: Store, verdict: Verdict, displaced?: string } {
  const j = judge(store, input, verify, opts)
  if (j.verdict !== 'applied' || j.record == null) return { store, verdict: j.verdict }
  const next = new Map(store)
  next.set(j.record.key, j.record)
  return { store: next, verdict: 'applied', displaced: j.displaced }
}
