// The shapes of organism state: signed records, their two bodies, merge verdicts and the change feed.

export interface FunctionLoad { rps: number, p99: number }

/** A cell's own record, key `cell/<peerId>`, written only by that cell. */
export interface CellBody {
  kind: 'cell'
  name: string
  addrs: { peer: string[], router?: string, dns?: string }
  load: { rps: number, cpu: number, memory: number }
  functions: string[]
  /** Requests/s and p99 (ms) of each function running here, as this cell's router measures them (all of its traffic). */
  traffic?: Record<string, FunctionLoad>
  /**
   * How many instances this cell asks for, of a function on several cells that it found too busy (instances: auto);
   * the organism runs the largest ask of a live cell, within the genome's bounds.
   */
  scale?: Record<string, number>
  software: string
  genome: string
  /** git's tree id of the genome files this cell runs, as found on its disk (its commit's tree while intact). */
  tree?: string
  /** SWIM incarnation: grows when the cell refutes a suspicion or comes back. */
  incarnation: number
  /** Wall-clock ms for display only; never used to order records (hosts may be minutes apart). */
  at?: number
}

/** Previous owner's signed consent to a move; lets a cold move grow into a live migration. */
export interface Handoff {
  from: string
  to: string
  epoch: number
  sig: string
}

/** A function's placement, key `placement/<fn>`, written by its current owner. */
export interface PlacementBody {
  kind: 'placement'
  fn: string
  owner: string
  /** Grows by one on every change of owner; the higher epoch always wins. */
  epoch: number
  state: 'serving' | 'moving'
  /** While moving: the cell the function moves to. */
  to?: string
  handoff?: Handoff
  at?: number
}

export type RecordBody = CellBody | PlacementBody

export interface SignedRecord<B extends RecordBody = RecordBody> {
  key: string
  writer: string
  /** A per-writer counter (never a timestamp): each record a writer signs gets the next number. */
  version: number
  body: B
  /** Signature over canonical({ key, writer, version, body }). */
  sig: string
}

export type Verdict = 'applied' | 'stale' | 'duplicate' | 'forged' | 'wrong-writer' | 'malformed' | 'too-large' | 'not-member' | 'over-quota'

export type Liveness = 'alive' | 'suspect' | 'dead'

export interface CellView {
  peer: string
  liveness: Liveness
  incarnation: number
  record?: SignedRecord<CellBody>
}

export interface PlacementView {
  fn: string
  owner: string
  epoch: number
  state: 'serving' | 'moving'
  to?: string
  /** The cell holding a synced copy of the data (the store's record). */
  replica?: string
  version: number
}

export type StateEvent =
  | { type: 'cell-joined', peer: string }
  /** The membrane no longer counts it a member (expelled, or its admissions lapsed): its records are gone. */
  | { type: 'cell-removed', peer: string, name?: string }
  | { type: 'cell-suspect', peer: string, incarnation: number }
  | { type: 'cell-dead', peer: string, incarnation: number }
  | { type: 'cell-alive', peer: string, incarnation: number }
  | { type: 'placement-changed', fn: string, owner: string, epoch: number, previous?: string }
  /** This cell held the placement and another claim won (higher epoch or partition tie-break): stop serving fn. */
  | { type: 'placement-lost', fn: string, winner: string, epoch: number }
  | { type: 'record-rejected', from: string, key?: string, verdict: Verdict }
