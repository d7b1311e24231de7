// What replication needs from the rest of the cell: the placements (the ownership store through the organism), the
// peer link's streams, the function host (is fn running here, where is its data), and who is alive.
import type { Duplex } from 'node:stream'
import type { Scheduler } from '../core/clock.ts'
import type { PlacementView } from '../state/index.ts'
import type { TransitionRequest } from '../ownership/index.ts'

export interface ReplicaPorts {
  readonly self: string
  readonly protocol: string
  link: {
    openStream: (peer: string, protocol: string) => Promise<Duplex>
    handleStream: (protocol: string, handler: (stream: Duplex, from: string) => void) => Promise<void>
  }
  /** As last seen here (the store's record, cached). */
  placement: (fn: string) => PlacementView | undefined
  placements: () => PlacementView[]
  /** From the ownership store itself. */
  read: (fn: string) => Promise<PlacementView | undefined>
  change: (fn: string, req: TransitionRequest) => Promise<PlacementView>
  /** Member cells the failure detector counts alive (this one included). */
  live: () => string[]
  /** Whether fn runs (or is starting, or arriving) here: its data dir is then the function's, not a replica's. */
  busy: (fn: string) => boolean
  dataDir: (fn: string) => string
  /**
   * Where this cell offers the TLS side path a replica stream may move to (the move's bulk path: TLS 1.3 with a key
   * sent over the member stream): OpenSSL's records instead of the link's JS ciphers, on every batch. Null: none.
   */
  bulk: { bindHost: string, advertise: string } | null
  note: (text: string) => void
  /** A cell's name for people. */
  nameOf: (id: string) => string
  clock: Scheduler
  /** Cells an operator expelled (`cell expel`): their lease counts for nothing, their functions are taken over. */
  expelled?: (peer: string) => boolean
  /** Cells the immune system quarantined (their files are not their commit's): taken over like expelled ones. */
  quarantined?: (peer: string) => boolean
}

export interface ReplicatedFunction {
  readonly name: string
  readonly stateful: boolean
  readonly replicas: 1 | 2
  readonly durability: 'sync' | 'async'
}

export interface ReplicaStatus {
  /** The cell the store names as holding the copy, or null. */
  readonly replica: string | null
  /** synced: the replica has every acknowledged write; catching-up: a new replica is being filled; alone: no other
   *  cell is alive, writes are kept here only; failing: the replica does not answer (writes wait). */
  readonly state: 'synced' | 'catching-up' | 'alone' | 'failing'
  /** Time since the oldest change not yet on the replica (0 when synced). */
  readonly lagMs: number
  readonly lastError: string | null
}
