// The shape of the live map: one OrganismView, produced by the cell from organism state, rendered by the page.

export type CellState = 'alive' | 'suspect' | 'dead'
export type EventKind = 'join' | 'dead' | 'alive' | 'suspect' | 'move' | 'restart' | 'info'

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

export interface OrganismView {
  organism: string
  zone: string
  /** Id of the cell serving the page. */
  self: string
  /** Epoch milliseconds when the view was taken. */
  at: number
  cells: CellView[]
  events: OrganismEvent[]
}
