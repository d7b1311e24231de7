// A cell's libp2p node behind the membrane: TCP + Noise + yamux, identify, ping, gossipsub; members-only protocols.
import { createLibp2p } from 'libp2p'
import type { Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import type { Identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import type { Ping } from '@libp2p/ping'
import { gossipsub, TopicValidatorResult } from '@libp2p/gossipsub'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId, Stream } from '@libp2p/interface'
import { logger } from '../core/log.ts'
import { isModuleError } from '../core/errors.ts'
import { realClock } from '../core/clock.ts'
import type { Clock } from '../core/clock.ts'
import { signAdmission } from './admission.ts'
import type { Admission } from './admission.ts'
import { peersError } from './errors.ts'
import { DEFAULT_MAX_MESSAGE_BYTES } from './frame.ts'
import { loadOrCreateIdentity } from './identity.ts'
import { answerJoin, askToJoin, JOIN_PROTOCOL } from './join.ts'
import { ExpulsionBook } from './expulsion.ts'
import { membershipUpkeep } from './upkeep.ts'
import { Membrane, appScore, gossipThresholds, judgeGossip } from './membrane.ts'
import { checkOrganismName, checkProtocol, topicName } from './names.ts'
import { Membership } from './membership.ts'
import { Roster } from './roster.ts'
import type { RosterContext } from './roster.ts'
import { createMessageSender, serveMessages } from './messages.ts'
import { sendRequest, serveRequest } from './rpc.ts'
import { streamToDuplex } from './duplex.ts'
import type { RpcContext } from './rpc.ts'
import { TokenBook, decodeToken, encodeToken, newSecret } from './tokens.ts'
import type { PeerNode, PeerNodeOptions, RequestHandler, StreamHandler, TopicHandler } from './types.ts'

type Services = { identify: Identify, ping: Ping, pubsub: GossipSub }

export async function createPeerNode (opts: PeerNodeOptions): Promise<PeerNode> {
  const log = logger('peers')
  const clock: Clock = opts.clock ?? realClock
  const maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  const timeoutMs = opts.timeoutMs ?? 10_000
  const organism = opts.organism
  checkOrganismName(organism)
  const { privateKey, peerId } = await loadOrCreateIdentity(opts.identityFile)
  const selfId = peerId.toString()
  const ttlMs = opts.admissionTtlMs ?? 30 * 24 * 3600_000
  const membership = new Membership(organism, { ttlMs, now: () => clock.now() })
  const tokens = new TokenBook()
  const isMember = (id: string): boolean => membership.has(id)
  // libp2p is made below; the membrane may close a stranger's connections once it is.
  let closeStranger = (_id: string): void => {}
  const membrane = new Membrane({ isMember, isExpelled: (id) => membership.isExpelled(id), maxStrangers: opts.maxStrangers ?? 16, evict: (id) => { closeStranger(id) } })
  const timers = new Set<NodeJS.Timeout>()
  const dropped = { gossip: 0, request: 0, join: 0 }
  const lastDropLog = new Map<string, number>()
  let stopped = false

  const drop = (kind: 'gossip' | 'request' | 'join', from: string, reason: string): void => {
    dropped[kind]++
    // One line per peer and kind every 10 s at most: a flood must not become a log flood.
    const key = `${kind}:${from}`
    if (clock.now() - (lastDropLog.get(key) ?? -Infinity) < 10_000) return
    if (lastDropLog.size > 1000) lastDropLog.clear()
    lastDropLog.set(key, clock.now())
    log.warn(`dropped ${kind} message`, { from, reason, droppedSoFar: dropped[kind] })
  }

  // Expulsions are checked with the caller's verifier (the genome's operator keys) before they count.
  const expulsions = new ExpulsionBook(organism, opts.verifyExpulsion)
  const refused = (from: string) => (err: unknown): void => { log.warn('expulsion refused', { from, err }) }

  if (opts.found === true) {
    await membership.reset(await signAdmission(privateKey, { organism, peerId: selfId, admittedBy: selfId, issuedAt: clock.now() }), [])
  } else if (opts.admissions != null && opts.admissions.length > 0) {
    const rejected = await membership.reset(opts.admissions[0], opts.admissions.slice(1), await expulsions.checkAll(opts.expulsions ?? [], refused('saved')))
    for (const r of rejected) log.warn('saved admission rejected', { peerId: r.record.peerId, reason: r.reason })
  }

  const listen = opts.listen ?? ['/ip4/127.0.0.1/tcp/0']
  const libp2p: Libp2p<Services> = await createLibp2p({
    privateKey,
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: membrane.gater(),
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // Gossipsub drops whole RPCs above this; our own check below is on the payload.
        maxInboundDataLength: maxBytes + 64 * 1024,
        scoreParams: {
          appSpecificScore: appScore(isMember),
          appSpecificWeight: 1,
          // Every lab cell may share one address; membership, not IP diversity, is what we trust.
          IPColocationFactorWeight: 0
        },
        scoreThresholds: gossipThresholds
      })
    }
  }).catch((err: unknown) => {
    // libp2p says only that "some configured addresses failed to be listened on"; the cause is nearly always a taken port.
    if (/EADDRINUSE/.test(String((err as Error).message))) throw peersError('PEERS_PORT_IN_USE', `cannot listen for other cells on ${listen.join(', ')}: the port is in use`, { cause: err })
    throw err
  })
  const pubsub = libp2p.services.pubsub

  const rpc: RpcContext = { isMember, maxBytes, timeoutMs, log, drop }
  // A member we cannot reach yet: one pull from another member usually brings its addresses.
  const findAddrs = async (to: string, protocol: string): Promise<void> => {
    if (stopped) throw peersError('PEERS_NOT_STARTED', 'peer node is stopped')
    if (isMember(to) && libp2p.getConnections(peerIdFromString(to)).length === 0 && (await rosterCtx.knownAddrs(to)).length === 0 && protocol !== roster.protocol) {
      await roster.syncRandom().catch((err) => log.debug('address sync failed', { err }))
    }
  }
  // Every dial of a member's protocol (requests, channels, streams): its addresses found first; a protocol it does
  // not serve (an older cell) is a typed error the callers can fall back on.
  const dialMember = async (to: string, protocol: string, signal: AbortSignal): Promise<Stream> => {
    await findAddrs(to, protocol)
    try {
      return await libp2p.dialProtocol(peerIdFromString(to), protocol, { signal })
    } catch (err) {
      if ((err as Error).name === 'UnsupportedProtocolError') throw peersError('PEERS_PROTOCOL_UNSUPPORTED', `${to} does not serve ${protocol}`, { cause: err })
      throw err
    }
  }
  const request = async (to: string, protocol: string, body: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> =>
    await sendRequest(rpc, async (s) => await dialMember(to, protocol, s), to, protocol, body, signal)
  const sender = createMessageSender(rpc, dialMember)
  const handle = async (protocol: string, handler: RequestHandler): Promise<void> => {
    await libp2p.handle(protocol, (stream, connection) => serveRequest(rpc, stream, connection, handler), { maxInboundStreams: 64 })
  }
  const selfAddrs = (): string[] => libp2p.getMultiaddrs().map((a) => a.decapsulateCode(421).toString())

  const rosterCtx: RosterContext = {
    selfId,
    membership,
    publish: async (topic, data) => { await pubsub.publish(topic, data) },
    request,
    selfAddrs,
    // Listen addresses that identify or a hello told us (not the ephemeral source ports of inbound connections).
    knownAddrs: async (id) => {
      try {
        return (await libp2p.peerStore.get(peerIdFromString(id))).addresses.map((a) => a.multiaddr.toString()).slice(0, 8)
      } catch {
        return []
      }
    },
    learnAddrs: async (id, addrs) => {
      const parsed = []
      for (const a of addrs) { try { parsed.push(multiaddr(a).decapsulateCode(421)) } catch {} }
      if (parsed.length > 0) await libp2p.peerStore.merge(peerIdFromString(id), { multiaddrs: parsed })
    },
    connectedMembers: () => libp2p.getPeers().map(String).filter(isMember),
    drop,
    takeExpulsion: async (raw, from) => { await applyExpulsion(raw, from).catch((err: unknown) => { drop('gossip', from, (err as Error).message) }) },
    expulsions: () => expulsions.list()
  }
  const roster = new Roster(organism, rosterCtx)

  const validator = (source: PeerId, msg: Message): TopicValidatorResult => {
    const facts = { signed: msg.type === 'signed', source: source.toString(), author: msg.type === 'signed' ? msg.from.toString() : undefined, bytes: msg.data.byteLength, membersTopic: msg.topic === roster.topic }
    const verdict = judgeGossip(facts, isMember, maxBytes)
    if (verdict.accept) return TopicValidatorResult.Accept
    drop('gossip', verdict.blame, verdict.reason)
    return verdict.reject ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
  }
  const topicHandlers = new Map<string, Set<TopicHandler>>()
  const listenTopic = (topic: string): void => {
    pubsub.topicValidators.set(topic, validator)
    pubsub.subscribe(topic)
  }
  pubsub.addEventListener('message', (evt) => {
    const msg = evt.detail
    if (msg.type !== 'signed') return
    const from = msg.from.toString()
    if (msg.topic === roster.topic) { roster.onGossip(msg.data, from).catch((err) => log.warn('members message failed', { err })); return }
    for (const handler of topicHandlers.get(msg.topic) ?? []) {
      try {
        const r = handler(msg.data, from)
        if (r instanceof Promise) r.catch((err) => log.warn('topic handler failed', { topic: msg.topic, err }))
      } catch (err) {
        log.warn('topic handler failed', { topic: msg.topic, err })
      }
    }
  })

  const closeAll = (id: string): void => {
    for (const conn of libp2p.getConnections()) if (conn.remotePeer.toString() === id) void conn.close().catch(() => {})
  }
  const upkeep = membershipUpkeep({ selfId, organism, libp2p, membership, membrane, expulsions, roster, clock, log, ttlMs, timeoutMs, maxBytes, closeAll })
  const applyExpulsion = upkeep.applyExpulsion

  closeStranger = (id) => {
    log.info('closing the oldest stranger\'s connection to make room for a new one', { peerId: id })
    closeAll(id)
  }
  // Strangers get strangerGraceMs to finish a join; then their connections close.
  libp2p.addEventListener('peer:connect', (evt) => {
    const id = evt.detail.toString()
    if (!membrane.connected(id)) return
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (isMember(id)) return
      log.info('closing connection of a non-member', { peerId: id })
      membrane.strike(id)
      for (const conn of libp2p.getConnections(evt.detail)) void conn.close().catch(() => {})
    }, opts.strangerGraceMs ?? 10_000)
    timers.add(timer)
  })
  libp2p.addEventListener('peer:disconnect', (evt) => { membrane.disconnected(evt.detail.toString()) })

  const memberSide = {
    organism, selfId, privateKey, membership, tokens, now: () => clock.now(), maxMessageBytes: maxBytes, timeoutMs, drop,
    addrsOf: rosterCtx.knownAddrs,
    announce: async (record: Admission, addrs: string[]) => { await roster.announce(record, addrs) },
    expulsions: () => expulsions.list(),
    renewReuseMs: upkeep.renewReuseMs
  }
  await libp2p.handle(JOIN_PROTOCOL, (stream, connection) => answerJoin(memberSide, stream, connection), { maxInboundStreams: 4 })
  await handle(roster.protocol, (body, from) => roster.answerSync(body, from))

  // Anti-entropy for the member list: now and then pull everything one member knows.
  // libp2p does not dial known peers by itself: keep a few member links so gossip does not hang on one sponsor.
  const connectMore = async (): Promise<void> => {
    const connected = new Set(rosterCtx.connectedMembers())
    if (connected.size >= (opts.minMemberLinks ?? 4)) return
    const others = membership.members().filter((id) => id !== selfId && !connected.has(id))
    if (others.length === 0) return
    const id = others[Math.floor(Math.random() * others.length)]
    if ((await rosterCtx.knownAddrs(id)).length === 0) return
    await libp2p.dial(peerIdFromString(id), { signal: AbortSignal.timeout(timeoutMs) }).catch((err) => log.debug('member dial failed', { peerId: id, err }))
  }
  const scheduleSync = (): void => {
    if (stopped) return
    const timer = setTimeout(() => {
      timers.delete(timer)
      roster.syncRandom().then(connectMore).catch((err) => log.debug('member sync failed', { err })).finally(scheduleSync)
    }, opts.syncIntervalMs ?? 30_000)
    timers.add(timer)
  }
  const scheduleRenew = (ms: number): void => {
    if (stopped) return
    const timer = setTimeout(() => {
      timers.delete(timer)
      membership.refresh().then(async () => { if (!stopped) await upkeep.maybeRenew() }).catch((err) => log.warn('admission renewal failed', { err })).finally(() => { scheduleRenew(opts.renewCheckMs ?? 10 * 60_000) })
    }, ms)
    timers.add(timer)
  }

  const join = async (address: string | undefined, token: string): Promise<void> => {
    if (stopped) throw peersError('PEERS_NOT_STARTED', 'peer node is stopped')
    const t = decodeToken(token)
    if (t.organism !== organism) throw peersError('PEERS_TOKEN_INVALID', `token is for organism "${t.organism}", this cell is in "${organism}"`)
    const candidates = (address != null ? [address] : t.addrs).slice(0, 8)
    const release = membrane.allowJoinTarget(t.peerId)
    let lastErr: unknown
    try {
      for (const candidate of candidates) {
        const signal = AbortSignal.timeout(timeoutMs)
        let answer
        try {
          let ma = multiaddr(candidate)
          const named = ma.getComponents().find((c) => c.name === 'p2p')?.value
          if (named != null && named !== t.peerId) throw peersError('PEERS_TOKEN_INVALID', `address names peer ${named}, the token names ${t.peerId}`)
          // Naming the peer in the address makes Noise prove we reached the member that issued the token.
          if (named == null) ma = ma.encapsulate(`/p2p/${t.peerId}`)
          answer = await askToJoin(await libp2p.dialProtocol(ma, JOIN_PROTOCOL, { signal }), organism, t.secret, selfAddrs(), maxBytes, signal)
        } catch (err) {
          if (isModuleError(err, 'peers') && err.code.startsWith('PEERS_TOKEN')) throw err
          lastErr = err
          continue
        }
        const rejected = await membership.reset(answer.founding, answer.records, await expulsions.checkAll(answer.expulsions, refused(t.peerId)))
        if (!membership.has(selfId) || !membership.has(t.peerId)) {
          throw peersError('PEERS_ADMISSION_INVALID', 'the join answer does not verify back to genesis', { details: { rejected: rejected.map((r) => r.reason) } })
        }
        log.info('joined organism', { organism, via: t.peerId, members: membership.members().length })
        for (const [id, list] of Object.entries(answer.addrs).slice(0, 32)) if (isMember(id)) await rosterCtx.learnAddrs(id, list)
        // Tell the others where we listen; a lost hello is repaired by the periodic sync.
        roster.hello().catch(() => {})
        roster.syncWith(t.peerId).then(connectMore).catch((err) => log.debug('first member sync failed', { err }))
        scheduleRenew(Math.min(opts.renewCheckMs ?? 10 * 60_000, 5000))
        return
      }
    } finally {
      release()
    }
    throw peersError('PEERS_JOIN_FAILED', `could not complete the join via ${candidates.join(', ')}: ${(lastErr as Error | undefined)?.message ?? 'no address'}`, { cause: lastErr })
  }

  listenTopic(roster.topic)
  scheduleSync()
  if (membership.genesis != null) scheduleRenew(Math.min(opts.renewCheckMs ?? 10 * 60_000, 5000))
  // Restarted members find the others again; only members' addresses are kept (the gater refuses the rest anyway).
  for (const addr of (opts.bootstrap ?? []).slice(0, 32)) {
    const id = (() => { try { return multiaddr(addr).getComponents().find((c) => c.name === 'p2p')?.value } catch { return undefined } })()
    if (id == null || !isMember(id) || id === selfId) { log.warn('bootstrap address skipped (no member peer id)', { addr }); continue }
    await rosterCtx.learnAddrs(id, [addr])
    roster.syncWith(id).catch((err) => log.debug('bootstrap sync failed', { addr, err }))
  }

  return {
    peerId: selfId,
    organism,
    addrs: () => libp2p.getMultiaddrs().map(String),
    members: () => membership.members(),
    isMember,
    isExpelled: (id) => membership.isExpelled(id),
    admissions: () => membership.records(),
    onMember: (listener) => membership.onChange((c) => { listener(c.peerId) }),
    expulsions: () => expulsions.list(),
    expel: async (expulsion) => await applyExpulsion(expulsion, 'operator'),
    stats: () => ({ dropped: { ...dropped }, strangers: membrane.strangerCount(), connections: libp2p.getConnections().length, channels: sender.size() }),
    join,

    admitToken (ttlMs: number): string {
      if (!isMember(selfId)) throw peersError('PEERS_NOT_MEMBER', 'only a member can admit others; join first')
      const secret = newSecret()
      tokens.issue(secret, clock.now(), ttlMs)
      return encodeToken({ organism, peerId: selfId, addrs: selfAddrs(), secret })
    },

    async publish (topic: string, data: Uint8Array): Promise<number> {
      const full = topicName(organism, topic)
      if (stopped) throw peersError('PEERS_NOT_STARTED', 'peer node is stopped')
      if (!isMember(selfId)) throw peersError('PEERS_NOT_MEMBER', 'only members publish to organism topics')
      if (data.byteLength > maxBytes) throw peersError('PEERS_MESSAGE_TOO_LARGE', `message of ${data.byteLength} bytes exceeds the ${maxBytes}-byte limit`)
      return (await pubsub.publish(full, data)).recipients.length
    },

    subscribe (topic: string, handler: TopicHandler): () => void {
      const full = topicName(organism, topic)
      let set = topicHandlers.get(full)
      if (set == null) { set = new Set(); topicHandlers.set(full, set); listenTopic(full) }
      set.add(handler)
      return () => {
        set.delete(handler)
        if (set.size === 0 && topicHandlers.get(full) === set) { topicHandlers.delete(full); pubsub.unsubscribe(full); pubsub.topicValidators.delete(full) }
      }
    },

    handle: async (protocol, handler) => { checkProtocol(organism, protocol); await handle(protocol, handler) },
    request: async (to, protocol, body, ropts) => { checkProtocol(organism, protocol); return await request(to, protocol, body, ropts?.signal) },
    send: async (to, protocol, body) => { checkProtocol(organism, protocol); await sender.send(to, protocol, body) },
    listen: async (protocol, handler) => {
      checkProtocol(organism, protocol)
      await libp2p.handle(protocol, (stream, connection) => serveMessages(rpc, stream, connection, handler), { maxInboundStreams: 8 })
    },
    openStream: async (to, protocol, sopts) => {
      checkProtocol(organism, protocol)
      if (!isMember(to)) throw peersError('PEERS_NOT_MEMBER', `${to} is not a member`)
      const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(sopts?.signal != null ? [sopts.signal] : [])])
      return streamToDuplex(await dialMember(to, protocol, signal))
    },
    handleStream: async (protocol, handler: StreamHandler) => {
      checkProtocol(organism, protocol)
      await libp2p.handle(protocol, (stream, connection) => {
        const from = connection.remotePeer.toString()
        if (!isMember(from)) { drop('request', from, `not a member (${protocol})`); stream.abort(new Error('not a member')); return }
        handler(streamToDuplex(stream), from)
      }, { maxInboundStreams: 1024 })
    },

    async stop (): Promise<void> {
      if (stopped) return
      stopped = true
      sender.close()
      for (const t of timers) clearTimeout(t)
      timers.clear()
      await libp2p.stop()
    }
  }
}
