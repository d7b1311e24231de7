// The organism as the rest of the cell sees it: the plan, the cells, placements and claims, its own record, events.
import type { CellView, PlacementView, Liveness, OwnCellBody, StateEvent, StateSyncStats } from '../state/index.ts'
import type { TransitionRequest } from '../ownership/index.ts'
import type { Plan, CellRef } from '../placement/index.ts'
import type { OrganismEvent } from './events.ts'

/** Why the plan may have changed: a state event (liveness), an ownership change, or the periodic re-plan. */
export type OrganismChange =
  | { readonly type: 'state', readonly event: StateEvent }
  | { readonly type: 'ownership' }
  | { readonly type: 'replanned' }

export interface Organism {
  readonly self: string
  /** Who serves what, as this cell sees it now. */
  plan: () => Plan
  cells: () => CellView[]
  /** The cells as the placement rules take them (id, liveness, name). */
  cellRefs: () => CellRef[]
  placements: () => PlacementView[]
  /** fn's placement as last seen here (the store's record, cached). */
  placement: (fn: string) => PlacementView | undefined
  /** fn's placement read from the ownership store itself. */
  read: (fn: string) => Promise<PlacementView | undefined>
  liveness: (cell: string) => Liveness | 'unknown'
  /** A cell's name for people (its record's name, else the end of its id). */
  nameOf: (id: string) => string
  /** Changes fn's ownership through the store (OWNERSHIP_REFUSED where the rules forbid it); the new placement. */
  change: (fn: string, req: TransitionRequest) => Promise<PlacementView>
  /** Signs and spreads this cell's own record (the time is added here). */
  setOwnRecord: (body: Omit<OwnCellBody, 'at'>) => void
  events: () => OrganismEvent[]
  /** Owner changes of the last minute (for the live map's arrows), oldest first. */
  moves: () => Array<{ fn: string, from: string, to: string, at: number }>
  note: (e: Omit<OrganismEvent, 'at'>) => void
  /** Called on every change that may move the plan; returns the unsubscribe function. */
  onChange: (listener: (change: OrganismChange) => void) => () => void
  stats: () => StateSyncStats
  stop: () => Promise<void>
}
