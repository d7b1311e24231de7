// The adapter: runs one Engine over a transport (gossip topic, a message channel per peer or one request per message) with real or fake time.
import type { Scheduler } from '../core/clock.ts'
import { logger } from '../core/log.ts'
import { isOrganismError } from '../core/errors.ts'
import { Feed } from '../core/feed.ts'
import { Engine, type EngineOptions, type OwnCellBody, type Outgoing, type PlacementClaim } from './engine.ts'
import { stateError } from './errors.ts'
import { cellKey, isCellRecord, isPlacementRecord } from './record.ts'
import { seededRng } from './rng.ts'
import type { Signer, Verify } from './sign.ts'
import { livenessOf } from './swim.ts'
import type { CellBody, CellView, Liveness, PlacementView, SignedRecord, StateEvent } from './types.ts'
import { decodeWire, DEFAULT_MAX_MESSAGE_BYTES, encodeWire } from './wire.ts'

/**
 * What state sync needs from the peer layer. PeerNode (src/peers/types.ts) satisfies it as
 * `{ self: node.peerId, members: node.members, publish: node.publish, subscribe: node.subscribe,
 *    handle: node.handle, request: node.request }`: only members reach these handlers.
 */
export interface StateTransport {
  readonly self: string
  members: () => string[]
  publish: (topic: string, data: Uint8Array) => Promise<unknown> | void
  subscribe: (topic: string, handler: (data: Uint8Array, from: string) => void | Promise<void>) => () => void
  handle: (protocol: string, handler: (body: Uint8Array, from: string) => Promise<Uint8Array> | Uint8Array) => Promise<void> | void
  request: (peer: string, protocol: string, body: Uint8Array, opts?: { signal?: AbortSignal }) => Promise<Uint8Array>
  /** One-way messages on a long-lived channel per peer (PeerNode.send/listen); without them every message is a request. */
  send?: (peer: string, protocol: string, body: Uint8Array) => Promise<void>
  listen?: (protocol: string, handler: (body: Uint8Array, from: string) => void) => Promise<void>
}

export interface StateSyncOptions extends Partial<EngineOptions> {
  /** Timer resolution of the real loop; 0 = no timer (call tick() yourself, as tests with a FakeClock do). */
  tickMs?: number
  requestTimeoutMs?: number
  maxMessageBytes?: number
  topic?: string
  protocol?: string
  /** The channel protocol (transport.send/listen); messages to a peer that lacks it go as requests on `protocol`. */
  channelProtocol?: string
}

export interface StateSyncStats {
  received: number
  sent: number
  sendFailed: number
  dropped: { malformed: number, tooLarge: number, flood: number }
  verdicts: Engine['stats']['verdicts']
}

export interface StateSync {
  readonly self: string
  start: () => Promise<void>
  stop: () => Promise<void>
  /** Runs due timers now (the real loop calls it every tickMs). */
  tick: () => void
  setOwnRecord: (body: OwnCellBody) => void
  claimPlacement: (fn: string, claim?: PlacementClaim) => void
  records: () => SignedRecord[]
  cells: () => CellView[]
  placements: () => PlacementView[]
  /** One cell's own record, if it reached us. */
  cellRecord: (peer: string) => SignedRecord<CellBody> | undefined
  /** This cell's view of one cell (alive for itself; unknown if neither a member nor a writer of a record here). */
  liveness: (peer: string) => Liveness | 'unknown'
  changes: (signal?: AbortSignal) => AsyncIterable<StateEvent>
  stats: () => StateSyncStats
}

export interface StateSyncInit { transport: StateTransport, signer: Signer, verify: Verify, clock: Scheduler, options?: StateSyncOptions, seed?: number }

const REJECT_CODES: Partial<Record<string, string>> = {
  forged: 'STATE_RECORD_FORGED', 'wrong-writer': 'STATE_WRONG_WRITER', malformed: 'STATE_RECORD_MALFORMED', 'too-large': 'STATE_RECORD_TOO_LARGE',
  'not-member': 'STATE_NOT_MEMBER_RECORD', 'over-quota': 'STATE_OVER_QUOTA'
}

export function createStateSync (init: StateSyncInit): StateSync {
  const { transport, clock } = init
  const o = init.options ?? {}
  const topic = o.topic ?? 'state'
  const protocol = o.protocol ?? 'state/1.0.0'
  const maxBytes = o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  const log = logger('state')
  if (init.signer.id !== transport.self) throw new TypeError(`signer ${init.signer.id} is not the transport's peer ${transport.self}`)
  const engine = new Engine({ signer: init.signer, verify: init.verify, rng: seededRng(init.seed ?? (Math.random() * 2 ** 32)), now: clock.now(), options: o })
  const feed = new Feed<StateEvent>()
  const dropped = { malformed: 0, tooLarge: 0 }
  let sendFailed = 0
  let stopTimer: (() => void) | undefined
  let unsubscribe: (() => void) | undefined
  const stopping = new AbortController()
  const empty = new Uint8Array(0)

  // Peers that answered the channel protocol with "unsupported" (an older cell): they get requests.
  const noChannel = new Set<string>()
  const request = (to: string, bytes: Uint8Array): void => {
    const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(o.requestTimeoutMs ?? 2000)])
    transport.request(to, protocol, bytes, { signal }).catch(() => { sendFailed++ })
  }
  const flush = (outs: Outgoing[]): void => {
    for (const { to, msg } of outs) {
      // Fire and forget: SWIM's own timeouts decide what a lost message means.
      const bytes = encodeWire(msg)
      if (transport.send == null || o.channelProtocol == null || noChannel.has(to)) { request(to, bytes); continue }
      transport.send(to, o.channelProtocol, bytes).catch((err: unknown) => {
        if (!isOrganismError(err, 'PEERS_PROTOCOL_UNSUPPORTED')) { sendFailed++; return }
        noChannel.add(to)
        request(to, bytes)
      })
    }
    for (const e of engine.drainEvents()) {
      // A cell that comes back may have been upgraded: try its channel again.
      if (e.type === 'cell-alive') noChannel.delete(e.peer)
      if (e.type === 'record-rejected') log.debug('rejected a record', { code: REJECT_CODES[e.verdict], from: e.from, key: e.key })
      feed.publish(e)
    }
  }

  const onBytes = (bytes: Uint8Array, from: string): void => {
    const { msg, problem } = decodeWire(bytes, maxBytes)
    if (msg == null) {
      if (problem === 'too-large') dropped.tooLarge++
      else dropped.malformed++
      const err = stateError(problem === 'too-large' ? 'STATE_RECORD_TOO_LARGE' : 'STATE_RECORD_MALFORMED', `dropped a ${problem} message of ${bytes.length} bytes`, { details: { from } })
      log.debug(err.message, { code: err.code, from })
      return
    }
    const before = engine.stats.dropped.flood
    flush(engine.receive(from, msg, clock.now()))
    if (engine.stats.dropped.flood > before && (engine.stats.dropped.flood & 1023) === 1) {
      log.warn('rate-limited a member', { code: 'STATE_FLOOD', from, dropped: engine.stats.dropped.flood })
    }
  }

  // The same members array (a simulator's shared roster) is not filtered again on every tick.
  let lastMembers: string[] | null = null
  let memberSet = new Set<string>()
  const refreshRoster = (): void => {
    const members = transport.members()
    if (members === lastMembers) return
    const before = lastMembers == null ? null : memberSet
    lastMembers = members
    memberSet = new Set(members)
    engine.setRoster(members.filter((m) => m !== transport.self), (id) => memberSet.has(id))
    if (before != null) engine.forget([...before].filter((id) => !memberSet.has(id)))
  }
  const liveness = (peer: string): Liveness | 'unknown' => {
    if (peer === transport.self) return 'alive'
    // The member set as of the last tick (every tickMs): PeerNode.members() builds a new array each call, and this
    // runs for every function on every re-plan.
    if (!memberSet.has(peer) && !engine.store.has(cellKey(peer))) return 'unknown'
    return livenessOf(engine.detector, peer).status
  }
  const tick = (): void => {
    refreshRoster()
    flush(engine.tick(clock.now()))
  }

  // Placements are read on every change of the plan; they are rebuilt only after a record was applied.
  let placementsCache: { applied: number, list: PlacementView[] } | null = null
  const placements = (): PlacementView[] => {
    if (placementsCache?.applied !== engine.stats.verdicts.applied) {
      placementsCache = {
        applied: engine.stats.verdicts.applied,
        list: [...engine.store.values()].filter(isPlacementRecord).map((r) => ({
          fn: r.body.fn, owner: r.body.owner, epoch: r.body.epoch, state: r.body.state, to: r.body.to, version: r.version
        })).sort((a, b) => a.fn.localeCompare(b.fn))
      }
    }
    return [...placementsCache.list]
  }

  const publishOwn = (write: () => Outgoing[], key: string): void => {
    refreshRoster()
    flush(write())
    // gossipsub as a second path for our own writes; the engine's push gossip does not depend on it.
    const rec = engine.store.get(key)
    if (rec != null) void Promise.resolve(transport.publish(topic, encodeWire({ t: 'push', recs: [rec] }))).catch(() => { sendFailed++ })
  }

  return {
    self: transport.self,
    async start () {
      await transport.handle(protocol, (body, from) => { onBytes(body, from); return empty })
      if (transport.listen != null && o.channelProtocol != null) await transport.listen(o.channelProtocol, onBytes)
      unsubscribe = transport.subscribe(topic, (data, from) => { onBytes(data, from) })
      refreshRoster()
      // A cell that starts among members (it joined, or restarted) asks one of them for every record at once.
      if ((lastMembers?.length ?? 0) > 1) { engine.antiEntropySoon(clock.now()); tick() }
      const every = o.tickMs ?? 25
      if (every > 0) stopTimer = clock.every(every, tick)
    },
    async stop () {
      stopTimer?.()
      unsubscribe?.()
      stopping.abort()
    },
    tick,
    setOwnRecord: (body) => { publishOwn(() => engine.setOwnRecord(body), `cell/${transport.self}`) },
    claimPlacement: (fn, claim) => { publishOwn(() => engine.claimPlacement(fn, claim), `placement/${fn}`) },
    records: () => [...engine.store.values()],
    cells: () => {
      const views = new Map<string, CellView>()
      for (const id of [transport.self, ...transport.members()]) {
        const l = livenessOf(engine.detector, id)
        views.set(id, { peer: id, liveness: l.status, incarnation: l.inc })
      }
      for (const r of engine.store.values()) {
        if (!isCellRecord(r)) continue
        const l = livenessOf(engine.detector, r.writer)
        views.set(r.writer, { peer: r.writer, liveness: l.status, incarnation: Math.max(l.inc, r.body.incarnation), record: r })
      }
      return [...views.values()].sort((a, b) => a.peer.localeCompare(b.peer))
    },
    placements,
    cellRecord: (peer) => { const r = engine.store.get(cellKey(peer)); return r != null && isCellRecord(r) ? r : undefined },
    liveness,
    changes: (signal) => feed.subscribe(signal),
    stats: () => ({
      received: engine.stats.received,
      sent: engine.stats.sent,
      sendFailed,
      dropped: { ...dropped, flood: engine.stats.dropped.flood },
      verdicts: { ...engine.stats.verdicts }
    })
  }
}
