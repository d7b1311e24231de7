// The shapes of ownership as the store keeps it: one record per function, changed only by the transitions in rules.ts.

/** Who owns a function, at which epoch; `moving` while a hand-off to `to` is under way. */
export interface Ownership {
  readonly fn: string
  readonly owner: string
  /** Grows by exactly one on every change of owner. */
  readonly epoch: number
  readonly state: 'serving' | 'moving'
  readonly to?: string
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
  /** Another cell takes fn at epoch + 1 because the owner's lease is gone (the store tells `ownerAlive`). */
  | { readonly kind: 'takeover', readonly by: string, readonly epoch: number, readonly ownerAlive: boolean }

export type Verdict =
  | { readonly ok: true, readonly next: Ownership }
  | { readonly ok: false, readonly why: 'conflict' | 'not-owner' | 'owner-alive' | 'bad-request', readonly message: string }
