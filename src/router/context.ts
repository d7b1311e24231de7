// What the byte-level data path (wire.ts) asks of the router around it: the decision for each request (route
// table, resolve, balancer) and the connections it sends requests on (pools of function processes and of other
// cells, the router's own handler), and where it counts what it answered.
import type { Socket } from 'node:net'
import type { OrganismError } from '../core/errors.ts'
import type { UpstreamConn } from './conns.ts'
import type { PendingRequest } from './request.ts'
import type { RemoteUpstream } from './remote.ts'

/** How a request is to be answered, decided by the router (route table, resolve, balancer). */
export type Decision =
  | { kind: 'local', fn: string, port: number, commit?: () => Promise<void> | null, served?: string, done?: () => void }
  | { kind: 'remote', fn: string, up: RemoteUpstream }
  | { kind: 'handler', fn: string }
  | { kind: 'page', fn: string, status: number, err: OrganismError, extra?: Record<string, string> }

export interface WireContext {
  readonly maxHeaderSize: number
  readonly proto: 'http' | 'https'
  decide: (req: PendingRequest, socket: Socket) => Decision
  /** Takes a connection to the function's process on `port`. */
  acquire: (port: number, done: (err: Error | null, conn: UpstreamConn | null) => void) => void
  release: (conn: UpstreamConn, reusable: boolean, idleMs: number | null) => void
  /** Takes a stream to the router of the cell that owns a function (pooled per cell), and gives it back. */
  acquireLink: (up: RemoteUpstream, done: (err: Error | null, conn: UpstreamConn | null) => void) => void
  releaseLink: (conn: UpstreamConn, reusable: boolean, idleMs: number | null) => void
  /** This cell's id, in the hop header of what it forwards. */
  readonly self: string
  /** A connection into the router's node:http handler for this client (its address, its member standing). */
  openHandler: (client: Socket) => UpstreamConn
  /** Counts an answered request (not those the handler answers: it counts its own). */
  record: (req: PendingRequest, status: number, socket: Socket) => void
  onUpstreamError: (fn: string, err: Error) => void
}
