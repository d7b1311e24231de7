// The peers module's public types: options of createPeerNode and the PeerNode interface.
import type { Duplex } from 'node:stream'
import type { Clock } from '../core/clock.ts'
import type { Admission } from './admission.ts'
import type { Expulsion, VerifyExpulsion } from './expulsion.ts'

export interface PeerNodeOptions {
  /** Where the ed25519 key lives (created with mode 0600 on first start). */
  identityFile: string
  /** Organism name; also names topics and protocols. */
  organism: string
  /** Multiaddrs to listen on; default ['/ip4/127.0.0.1/tcp/0']. */
  listen?: string[]
  /** Genesis: sign a founding record for a new organism. */
  found?: boolean
  /** Saved membership (founding record first), e.g. node.admissions() from the previous run. */
  admissions?: Admission[]
  /** Member addresses (…/p2p/<id>) to reach at start, e.g. after a restart with saved admissions. */
  bootstrap?: string[]
  /** Largest request, response or gossip payload; default 1 MiB. */
  maxMessageBytes?: number
  /** How long a non-member may stay connected to try a join; default 10 s. */
  strangerGraceMs?: number
  /** Most non-members connected at once; default 16. */
  maxStrangers?: number
  /** Each sync tick dials one more member while fewer than this many are connected; default 4. */
  minMemberLinks?: number
  /** Member-list anti-entropy period; default 30 s. */
  syncIntervalMs?: number
  /** Timeout of every request and join handshake; default 10 s. */
  timeoutMs?: number
  /** Token expiry and record timestamps; default the real clock. */
  clock?: Clock
  /** How long an admission counts after it was issued; live members renew each other's. Default 30 days. */
  admissionTtlMs?: number
  /** How often a cell checks its own admissions (and the others' expiry); default 10 min. */
  renewCheckMs?: number
  /** Checks an operator's expulsion (the genome's keys); without it, expulsions are refused. */
  verifyExpulsion?: VerifyExpulsion
  /** Saved expulsions (node.expulsions() from the previous run); each is checked again. */
  expulsions?: Expulsion[]
}

/** Answers a member's request; a thrown error with a `code` reaches the caller as PEERS_REQUEST_FAILED with remoteCode. */
export type RequestHandler = (body: Uint8Array, from: string) => Promise<Uint8Array> | Uint8Array
export type StreamHandler = (stream: Duplex, from: string) => void
export type TopicHandler = (data: Uint8Array, from: string) => void | Promise<void>

export interface PeerStats {
  dropped: { gossip: number, request: number, join: number }
  strangers: number
  connections: number
  /** One-way message channels this node holds open (one per peer and protocol). */
  channels: number
}

export interface PeerNode {
  readonly peerId: string
  readonly organism: string
  /** Our listen addresses, each ending in /p2p/<peerId>. */
  addrs: () => string[]
  /** Member peer ids, sorted. */
  members: () => string[]
  isMember: (peerId: string) => boolean
  /** Whether an operator expelled this cell (a signed `cell expel` this node checked). */
  isExpelled: (peerId: string) => boolean
  /** Every verified admission, founding first: save it to restart as a member. */
  admissions: () => Admission[]
  /** Called for each change of the membership (a member admitted, renewed or removed); returns an unsubscribe function. */
  onMember: (listener: (peerId: string) => void) => () => void
  /** Every expulsion this cell verified: save it with the admissions. */
  expulsions: () => Expulsion[]
  /** Verifies an operator's expulsion, applies it and spreads it; resolves with the cells that are members no more. */
  expel: (expulsion: Expulsion) => Promise<string[]>
  stats: () => PeerStats
  /** A one-time join token valid for ttlMs (members only). */
  admitToken: (ttlMs: number) => string
  /** Joins through the member named in the token, at `address` or the token's own addresses. */
  join: (address: string | undefined, token: string) => Promise<void>
  /** Publishes to organism/<name>/<topic>; resolves with the number of peers it was sent to. */
  publish: (topic: string, data: Uint8Array) => Promise<number>
  /** Delivers messages on a topic whose author and relay are members; returns an unsubscribe function. */
  subscribe: (topic: string, handler: TopicHandler) => () => void
  /** Serves /organism/<name>/<what>/<x.y.z> to members only. */
  handle: (protocol: string, handler: RequestHandler) => Promise<void>
  /** A byte stream to a member on /organism/<name>/<what>/<x.y.z> (HTTP forwarding, data moves). */
  openStream: (peerId: string, protocol: string, opts?: { signal?: AbortSignal }) => Promise<Duplex>
  /** Serves byte streams from members only; a non-member's stream is reset before a byte is read. */
  handleStream: (protocol: string, handler: StreamHandler) => Promise<void>
  /** One request, one response, to a member. */
  request: (peerId: string, protocol: string, body: Uint8Array, opts?: { signal?: AbortSignal }) => Promise<Uint8Array>
  /** One-way message to a member on its long-lived channel (messages.ts); rejects when it cannot be sent now. */
  send: (peerId: string, protocol: string, body: Uint8Array) => Promise<void>
  /** Receives one-way messages from members only. */
  listen: (protocol: string, handler: (body: Uint8Array, from: string) => void) => Promise<void>
  stop: () => Promise<void>
}
