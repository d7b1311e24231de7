// The ownership store's interface: what every implementation (local file, etcd) offers, and the shared way a
// transition is asked for. The store, not a member, decides: it applies rules.ts to the record it holds, atomically.
import type { Ownership } from './types.ts'

/** A transition as a cell asks for it: for a takeover the store itself says whether the owner is alive. */
export type TransitionRequest =
  | { readonly kind: 'found', readonly by: string }
  | { readonly kind: 'handoff', readonly by: string, readonly epoch: number, readonly to: string }
  | { readonly kind: 'complete', readonly by: string, readonly from: string, readonly epoch: number }
  | { readonly kind: 'abort', readonly by: string, readonly epoch: number }
  // ownerExpelled: the asker checked an operator's expulsion of the owner, whose lease then counts for nothing.
  | { readonly kind: 'takeover', readonly by: string, readonly epoch: number, readonly force?: boolean, readonly override?: { readonly payload: string, readonly signature: string }, readonly ownerExpelled?: boolean }
  | { readonly kind: 'replica', readonly by: string, readonly epoch: number, readonly replica: string | null }

export interface ApplyOptions {
  readonly seal?: (o: Ownership) => Ownership
  readonly accept?: (cur: Ownership) => Promise<boolean>
}

/** A cell's lease: the store counts the cell alive while it holds it. */
export interface CellLease {
  /** When the store last confirmed the lease (the local time the confirmed renewal was sent), or null. */
  lastRenewedAt: () => number | null
  /** Whether the holder may still serve writes now: it stops a margin before the store could expire the lease. */
  mayServe: (now: number) => boolean
  /** Called once if the store says the lease is gone. */
  onLost: (listener: () => void) => void
  /** Gives the lease up at once (a clean stop): other cells may take over without waiting for the TTL. */
  release: () => Promise<void>
}

export interface OwnershipStore {
  readonly kind: 'local' | 'etcd'
  list: () => Promise<Ownership[]>
  get: (fn: string) => Promise<Ownership | null>
  /**
   * Applies the transition atomically; resolves with the new record, or rejects with OWNERSHIP_REFUSED. `seal` signs
   * the new record before it is written; `accept` says whether the record found is one to build on (a reader's
   * check: a record someone wrote around the rules is not), else OWNERSHIP_TAMPERED.
   */
  apply: (fn: string, t: TransitionRequest, opts?: ApplyOptions) => Promise<Ownership>
  /** Every record fn had with a seq in [from, to], in order (what a reader that missed changes checks step by step). */
  history: (fn: string, from: number, to: number) => Promise<Ownership[]>
  /**
   * Puts `good` back where the store holds `bad` (and only then): a forged record undone by its rightful owner.
   * `bad` null: where the store holds no record of the function at all (one deleted around the rules).
   */
  restore: (good: Ownership, bad: Ownership | null) => Promise<boolean>
  /** Takes a lease for `cell` with this TTL and keeps it renewed. */
  lease: (cell: string, ttlMs: number) => Promise<CellLease>
  /** Whether the store holds a live lease for `cell`. */
  alive: (cell: string) => Promise<boolean>
  /** Writes a record as it is where the function has none: a cell's local records moving into a new store. */
  seed: (o: Ownership) => Promise<void>
  /** Every record as it changes (after the change committed), and a function whose record went; returns the unsubscribe function. */
  watch: (listener: (o: Ownership) => void, deleted?: (fn: string) => void) => Promise<() => void>
  close: () => Promise<void>
}
