// Ownership records a member cannot forge: every record is signed by the cell it makes the owner (each transition
// is made by that cell: the founder, the owner handing off or naming a replica, the receiver completing, the taker),
// and a reader accepts a record only as a legal step from the last one it accepted. A member holding a store
// certificate can still write raw keys; what it writes is not believed (pure, but for the signature check).
import type { Ownership } from './types.ts'

/** Signs as this cell (its peer key); structurally the state module's Signer. */
export interface RecordSigner { readonly id: string, sign: (message: Uint8Array) => string }
/** True when sig is writer's signature over message; unknown writers false. */
export type RecordVerify = (writer: string, message: Uint8Array, sig: string) => boolean

/** The signed bytes: every field that decides who serves, in a fixed order; the proof itself is not part of them. */
export function recordBytes (o: Ownership): Uint8Array {
  return new TextEncoder().encode(JSON.stringify([o.fn, o.owner, o.epoch, o.seq ?? null, o.state, o.to ?? null, o.replica ?? null, o.forced ?? null, o.override ?? null]))
}

export function signRecord (o: Ownership, signer: RecordSigner): Ownership {
  const { proof: _old, ...bare } = o
  return { ...bare, proof: { by: signer.id, sig: signer.sign(recordBytes(bare)) } }
}

/**
 * Why `next` may not follow `prev` (the last record this reader accepted for the function), or null if it may.
 * `stateless`: the function keeps no data, so any cell may take it once its owner is gone.
 */
export function refuseStep (prev: Ownership | null, next: Ownership, verify: RecordVerify, stateless: boolean): string | null {
  if (next.proof == null) return 'it is not signed'
  if (next.proof.by !== next.owner) return `it is signed by ${next.proof.by}, not by the owner it names (${next.owner})`
  if (!verify(next.proof.by, recordBytes(next), next.proof.sig)) return `its signature is not ${next.proof.by}'s`
  if (!Number.isSafeInteger(next.epoch) || next.epoch < 1) return `its epoch ${next.epoch} is not a positive integer`
  if (prev == null) return null
  if ((next.seq ?? 0) !== (prev.seq ?? 0) + 1) return `it is change ${next.seq ?? '?'}, not the next one after ${prev.seq ?? 0}`
  if (next.epoch === prev.epoch) return next.owner === prev.owner ? null : `it changes the owner of epoch ${prev.epoch} (${prev.owner} to ${next.owner})`
  if (next.epoch < prev.epoch) return `its epoch ${next.epoch} is older than ${prev.epoch}`
  if (next.epoch > prev.epoch + 1) return `it jumps from epoch ${prev.epoch} to ${next.epoch}`
  // epoch + 1: a new owner, only by a hand-off to it, as the named replica, or (data-less) by a forced takeover.
  if (prev.state === 'moving' && prev.to === next.owner) return null
  if (prev.replica === next.owner) return null
  if (next.forced === true && stateless) return null
  if (next.forced === true && next.override != null) return null
  return `${next.owner} takes epoch ${next.epoch} without a hand-off to it, without holding the replica, and without an operator's override`
}
