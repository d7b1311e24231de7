// The shapes of ownership as the store keeps it: one record per function, changed only by the transitions in rules.ts.

/** Who owns a function, at which epoch; `moving` while a hand-off to `to` is under way. */
export interface Ownership {
  readonly fn: string
  readonly owner: string
  /** Grows by exactly one on every change of owner. */
  readonly epoch: number
  /** Grows by exactly one on every change of the record (a reader checks each step; the store keeps each one). */
  readonly seq?: number
  readonly state: 'serving' | 'moving'
  readonly to?: string
  /** The cell holding a synced copy of fn's data: the one cell that may take fn over without the owner's consent. */
  readonly replica?: string
  /** Taken over by force (without the data): by an operator's override (`override`), or a function without data. */
  readonly forced?: true
  readonly override?: { readonly payload: string, readonly signature: string }
  /** The owner's signature over the record (proof.ts): readers believe no record without it. */
  readonly proof?: { readonly by: string, readonly sig: string }
}

/** A change of ownership, asked for by the cell `by`. */
export type Transition =
  /** The founding cell owns a function nobody owns yet, at epoch 1. */
  | { readonly kind: 'found', readonly by: string }
  /** The owner starts handing fn to `to`: requests wait until `to` serves it. */
  | { readonly kind: 'handoff', readonly by: string, readonly epoch: number, readonly to: string }
  /** The receiver of a hand-off takes fn at epoch + 1, once it serves it. */
  | { readonly kind: 'complete', readonly by: string, readonly from: string, readonly epoch: number }
  /** The owner gives up a hand-off (the receiver refused or cannot be reached) and serves fn again. */
  | { readonly kind: 'abort', readonly by: string, readonly epoch: number }
  /**
   * Another cell takes fn at epoch + 1 because the owner's lease is gone (the store tells `ownerAlive`). Only the
   * named replica may, unless `force` (an operator's override, or a function without data): then fn starts empty.
   */
  | { readonly kind: 'takeover', readonly by: string, readonly epoch: number, readonly ownerAlive: boolean, readonly force?: boolean, readonly override?: { readonly payload: string, readonly signature: string } }
  /** The owner names the cell that now holds a synced copy of fn's data (null: none does). The epoch stays. */
  | { readonly kind: 'replica', readonly by: string, readonly epoch: number, readonly replica: string | null }

export type Verdict =
  | { readonly ok: true, readonly next: Ownership }
  | { readonly ok: false, readonly why: 'conflict' | 'not-owner' | 'owner-alive' | 'not-replica' | 'bad-request', readonly message: string }
