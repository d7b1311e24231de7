// What the move protocol needs from the rest of the cell, as small interfaces: the placements (the organism), the
// function host (the supervisor), the peer link, and the data path. A simulator fakes each one.
import type { Duplex } from 'node:stream'
import type { Clock } from '../core/clock.ts'
import type { Liveness, PlacementView } from '../state/index.ts'
import type { TransitionRequest } from '../ownership/index.ts'
import type { CellRef } from '../placement/index.ts'
import type { ReceiveLimits, Selection } from './transfer.ts'
import type { Frames } from './frames.ts'

export interface MovePlacements {
  readonly self: string
  /** As last seen here (cached). */
  placement: (fn: string) => PlacementView | undefined
  /** From the ownership store itself. */
  read: (fn: string) => Promise<PlacementView | undefined>
  /** Through the ownership store, which decides (OWNERSHIP_REFUSED). */
  change: (fn: string, req: TransitionRequest) => Promise<PlacementView>
  liveness: (cell: string) => Liveness | 'unknown'
  cellRefs: () => CellRef[]
  nameOf: (id: string) => string
  note: (e: { kind: 'move', text: string }) => void
}

export interface FunctionHost {
  stopFunction: (fn: string) => Promise<void>
  /** Resolves at the function's first outcome; get() then says whether it runs. */
  startFunction: (fn: string) => Promise<void>
  get: (fn: string) => { readonly state: string, readonly error: { readonly message: string } | null } | undefined
  dataDir: (fn: string) => string
}

export interface MoveLink {
  openStream: (peer: string, protocol: string) => Promise<Duplex>
  handleStream: (protocol: string, handler: (stream: Duplex, from: string) => void) => Promise<void>
  request: (peer: string, protocol: string, body: Uint8Array) => Promise<Uint8Array>
  handle: (protocol: string, handler: (body: Uint8Array, from: string) => Promise<Uint8Array> | Uint8Array) => Promise<void>
}

export type DataPath = 'bulk' | 'stream'
export interface Sent { bytes: number, sha256: string, via: DataPath }

/** How a function's data dir travels; the real one is tar over the stream or a TLS side path (data-path.ts). */
export interface DataMover {
  /**
   * After the header: sends dir, or only `files` in it, or (null) all of it while the function may still write it
   * (move/2.0.0 streams may take the receiver's bulk offer).
   */
  send: (stream: Duplex, frames: Frames, dir: string, v2: boolean, onFallback: (err: Error) => void, files?: Selection) => Promise<Sent>
  /** Receives into dest, checked before it replaces what was there (and against limits as it arrives). */
  receive: (stream: Duplex, frames: Frames, dest: string, v2: boolean, limits?: ReceiveLimits) => Promise<Sent>
  /** Drops the old owner's copy once the new owner serves the verified one. */
  discard: (dir: string, tag: string) => Promise<void>
}

/** An operator's signed override, as the CLI made it (genome/override.ts checks it). */
export interface Signed { readonly payload: string, readonly signature: string }

/** Checks that a move asked by another member is an operator's signed override for exactly this; throws if not. */
export type AuthorizeOverride = (req: { fn: string, to: string, force: boolean, signed: Signed | undefined }, from: string) => Promise<void>

export interface MoverPorts {
  authorize: AuthorizeOverride
  placements: MovePlacements
  host: FunctionHost
  link: MoveLink
  data: DataMover
  clock: Clock
  /** The genome's functions: nothing else may arrive. */
  functions: readonly string[]
  /** The genome's `max_data` of a function: the most its data dir may bring (null: no bound beyond the sender's word). */
  maxDataBytes?: (fn: string) => number | null
  protocols: { move: string, moveV2: string, moveRequest: string }
  /** Live moves: the data dir goes while the function serves, only the changes during the hold (default true). */
  precopy?: boolean
  /** The longest a live move may hold requests before it is called off (default 5 s). */
  holdMaxMs?: number
}
