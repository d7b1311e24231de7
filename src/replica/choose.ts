// Pure decisions of replication: which cell should hold a function's replica, and who takes a function over when
// its owner's lease is gone.
import { createHash } from 'node:crypto'
import type { PlacementView } from '../state/index.ts'

/**
 * The replica for fn: the one the store names while it is live (it has every acknowledged write), else the live
 * cell holding the fewest replicas; null if no other cell is live.
 */
export function chooseReplica (fn: string, self: string, named: string | undefined, live: readonly string[], placements: readonly PlacementView[], avoid: ReadonlySet<string> = new Set()): string | null {
  const others = live.filter((c) => c !== self && !avoid.has(c))
  if (named != null && others.includes(named)) return named
  const held = loadOf(fn, placements)
  // Ties by a hash of function and cell: owners choosing at once (nothing named yet) spread their replicas.
  const rank = (c: string): string => createHash('sha256').update(`${fn}/${c}`).digest('hex')
  const ranked = [...others].sort((a, b) => (held.get(a) ?? 0) - (held.get(b) ?? 0) || (rank(a) < rank(b) ? -1 : 1))
  return ranked[0] ?? null
}

/**
 * A live cell that should hold fn's replica instead of `named` (also live): one carrying at least two replicas less,
 * so that a takeover does not land every function of a dead owner on one cell. Null: keep the named one.
 */
export function betterReplica (fn: string, self: string, named: string, live: readonly string[], placements: readonly PlacementView[]): string | null {
  const held = loadOf(fn, placements)
  const best = chooseReplica(fn, self, undefined, live.filter((c) => c !== named), placements)
  if (best == null) return null
  return (held.get(named) ?? 0) - (held.get(best) ?? 0) >= 2 ? best : null
}

/** What each cell carries of the other functions: a replica counts one, an owned function a half. */
function loadOf (fn: string, placements: readonly PlacementView[]): Map<string, number> {
  const held = new Map<string, number>()
  for (const p of placements) {
    if (p.fn === fn) continue
    if (p.replica != null) held.set(p.replica, (held.get(p.replica) ?? 0) + 1)
    held.set(p.owner, (held.get(p.owner) ?? 0) + 0.5)
  }
  return held
}

export type TakeoverAsk = { readonly kind: 'replica' } | { readonly kind: 'stateless' }

/**
 * Whether this cell should ask the store to take fn over (the store still decides, and refuses while the owner's
 * lease holds): the named replica does; a function without data is taken by the first live cell by id.
 */
export function takeoverAsk (p: PlacementView, self: string, stateful: boolean, live: readonly string[]): TakeoverAsk | null {
  if (p.owner === self) return null
  if (stateful) return p.replica === self ? { kind: 'replica' } : null
  const first = [...live].filter((c) => c !== p.owner).sort()[0]
  return first === self ? { kind: 'stateless' } : null
}
