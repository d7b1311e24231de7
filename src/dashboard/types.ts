// The shape of the live map: one OrganismView, produced by the cell from organism state, rendered by the page.

export type CellState = 'alive' | 'suspect' | 'dead'
export type EventKind = 'join' | 'dead' | 'alive' | 'suspect' | 'move' | 'restart' | 'tamper' | 'heal' | 'info'

export interface FunctionView {
  name: string
  domain: string
  /** Free text from the supervisor/migration ('running', 'starting', 'moving', …); 'moving' is drawn as a move. */
  state: string
  requestsPerSecond: number
  p99Ms: number
  epoch: number
}

export interface CellView {
  id: string
  name: string
  address: string
  state: CellState
  genome: string
  /** cpu is in cores in use (0.5 = half of one core), the unit the genome's division limits use. */
  load: { requestsPerSecond: number, cpu: number, memoryBytes: number }
  functions: FunctionView[]
}

export interface OrganismEvent {
  at: number
  kind: EventKind
  text: string
}

/**
 * An arrow on the picture: a function that moved (in the last minute), one moving now, or requests this cell forwards
 * to the cell that owns the function (from and to are cell ids, as in `cells`).
 */
export interface FlowView {
  kind: 'move' | 'moving' | 'forward'
  fn: string
  from: string
  to: string
  at: number
  requestsPerSecond?: number
}

export interface OrganismView {
  organism: string
  zone: string
  /** Id of the cell serving the page. */
  self: string
  /** Epoch milliseconds when the view was taken. */
  at: number
  cells: CellView[]
  events: OrganismEvent[]
  /** Moves and forwards of the last minute, drawn as arrows (absent: none known). */
  flows?: FlowView[]
}
