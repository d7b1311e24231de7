// The control plane's pure rules: who may hand a function off, what epoch an arrival takes, when a takeover is allowed,
// what an owner does after a failed hand-off, and which cell a name means. `(state, input) -> decision`, no I/O.
import type { Liveness, PlacementView } from '../state/types.ts'

/** Why a rule said no; the caller turns it into its own typed error. */
export type Refusal = { readonly ok: false, readonly why: 'not-owner' | 'unknown-cell' | 'stale' | 'protocol', readonly message: string }
const refuse = (why: Refusal['why'], message: string): Refusal => ({ ok: false, why, message })

/** A cell as the rules see it: its id, whether it is alive, and its name if its record arrived. */
export interface CellRef { readonly peer: string, readonly liveness: Liveness, readonly name?: string }

/**
 * The owner hands fn to `to`: only the serving owner may, and never to itself. It first marks the placement moving
 * (requests wait for the new owner), at its own epoch.
 */
export function handoff (p: PlacementView | undefined, self: string, fn: string, to: string):
{ ok: true, claim: { state: 'moving', to: string, epoch: number } } | Refusal {
  if (p == null || p.owner !== self) return refuse('not-owner', `this cell does not own ${fn}`)
  // Moving means handed off already (or under way): the receiver may own it by now, whether we heard or not.
  if (p.state === 'moving') return refuse('not-owner', `${fn} is moving to ${p.to ?? 'another cell'} already`)
  if (to === self) return refuse('unknown-cell', `${fn} is already here`)
  return { ok: true, claim: { state: 'moving', to, epoch: p.epoch } }
}

/** What a move stream's header says: the function, the sender's epoch, and who sent it. */
export interface ArrivalHeader { readonly fn: string, readonly epoch: number, readonly from: string }

/**
 * A cell receives fn from a sender: it takes the placement at the sender's epoch + 1, once the function serves here.
 * Refused when the header does not come from its sender, names no function of the genome, or is older than, or
 * contradicts, what this cell already knows of fn's placement (a sender that is not the owner at its epoch).
 */
export function arrival (known: PlacementView | undefined, h: ArrivalHeader, from: string, functions: readonly string[]):
{ ok: true, epoch: number } | Refusal {
  if (!functions.includes(h.fn) || h.from !== from || !Number.isSafeInteger(h.epoch) || h.epoch < 1) {
    return refuse('protocol', `bad move header for "${h.fn}" from ${from}`)
  }
  if (known != null && known.epoch > h.epoch) return refuse('stale', `${h.fn} is at epoch ${known.epoch} here, past the sender's ${h.epoch}`)
  if (known != null && known.epoch === h.epoch && known.owner !== from) return refuse('not-owner', `${from} does not own ${h.fn} at epoch ${h.epoch}`)
  return { ok: true, epoch: h.epoch + 1 }
}

/**
 * After a hand-off failed, the owner serves fn again. If the receiver refused, it never claimed: serve at the same
 * epoch. If the outcome is unknown (the link broke after the data left), the receiver may hold epoch + 1: serve at
 * epoch + 2, so that no epoch ever has two owners and the higher claim wins wherever both are seen.
 */
export function restoreAfterFailedHandoff (epoch: number, outcome: 'refused' | 'unknown'): { state: 'serving', epoch: number } {
  return { state: 'serving', epoch: outcome === 'refused' ? epoch : epoch + 2 }
}

/** A forced takeover (by an operator): only when the owner is dead as this cell sees it; the data stays behind. */
export function takeover (p: PlacementView | undefined, fn: string, ownerLiveness: Liveness | 'unknown'): { ok: true, epoch: number } | Refusal {
  if (p == null) return refuse('not-owner', `no cell owns ${fn} yet`)
  if (ownerLiveness !== 'dead') return refuse('not-owner', `${fn}'s owner is not dead here; a takeover needs a dead owner (use a plain move)`)
  return { ok: true, epoch: p.epoch + 1 }
}

/** The shortest part of a peer id that names a cell (ids share their first characters: they are multihashes). */
export const MIN_ID_PART = 6

/**
 * Which live (or suspect: most suspects refute) cell `to` names: an exact id or name first, else a unique id
 * prefix or suffix of at least MIN_ID_PART characters.
 */
export function resolveCell (cells: readonly CellRef[], to: string): { ok: true, peer: string } | Refusal {
  const live = cells.filter((c) => c.liveness !== 'dead')
  const exact = live.filter((c) => c.peer === to || c.name === to)
  const match = exact.length > 0 || to.length < MIN_ID_PART ? exact : live.filter((c) => c.peer.startsWith(to) || c.peer.endsWith(to))
  if (match.length === 1) return { ok: true, peer: match[0].peer }
  return refuse('unknown-cell', `${match.length === 0 ? 'no live cell' : 'more than one live cell'} matches "${to}"`)
}

/** How a cell without a name shows to people: the end of its id (the start is the same for every ed25519 id). */
export const shortId = (id: string): string => id.slice(-8)

/** A cell's name for people: its record's name, else its short id. */
export function nameOf (cells: readonly CellRef[], id: string): string {
  return cells.find((c) => c.peer === id)?.name ?? shortId(id)
}
