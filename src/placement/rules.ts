// Which cell a name means, and how a cell shows to people (pure). Who may own what is the ownership store's rule
// (ownership/rules.ts): hand-off, complete, abort, takeover.
import type { Liveness } from '../state/types.ts'

/** Why a rule said no; the caller turns it into its own typed error. */
export type Refusal = { readonly ok: false, readonly why: 'unknown-cell', readonly message: string }
const refuse = (why: Refusal['why'], message: string): Refusal => ({ ok: false, why, message })

/** A cell as the rules see it: its id, whether it is alive, and its name if its record arrived. */
export interface CellRef { readonly peer: string, readonly liveness: Liveness, readonly name?: string }

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
