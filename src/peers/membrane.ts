// The membrane's policy: which peers may connect, dial, score in gossip; strangers get a short, bounded visit.
import type { ConnectionGater, PeerId } from '@libp2p/interface'

export interface MembraneOptions {
  isMember: (peerId: string) => boolean
  /** Expelled cells get no connection at all, not even a stranger's visit. */
  isExpelled?: (peerId: string) => boolean
  /** Most non-members connected at once; they can only try the join handshake. */
  maxStrangers: number
  /**
   * Closes a stranger's connections. With it, a new stranger beyond maxStrangers pushes out the oldest stranger of
   * the address that holds the most: throwaway peer ids from one place cannot keep a real joiner out.
   */
  evict?: (peerId: string) => void
  /** For back-offs (wall time: a network defence, not the organism's clock); default Date.now. */
  now?: () => number
  /** Longest back-off of an address whose strangers stay their whole grace without joining; default 5 min. */
  maxBackoffMs?: number
}

/** Strikes are forgotten after this long without a new one. */
const STRIKES_FORGOTTEN_MS = 10 * 60_000
const MAX_STRUCK_ADDRESSES = 10_000

/** The host part of a multiaddr ("/ip4/10.0.0.7/tcp/4001" -> "/ip4/10.0.0.7"). */
export const hostOf = (addr: string): string => addr.split('/').slice(0, 3).join('/')

/** Score that gossipsub adds for a non-member: far below the publish and gossip thresholds, so nothing is sent to it. */
export const STRANGER_SCORE = -1000

export const gossipThresholds = {
  gossipThreshold: -10,
  publishThreshold: -50,
  // Not graylisting lets our topic validators see (and log) every message a stranger sends, instead of a silent drop.
  graylistThreshold: -1e12,
  acceptPXThreshold: 10,
  opportunisticGraftThreshold: 20
}

/** App-specific gossipsub score: members 0, strangers STRANGER_SCORE. */
export function appScore (isMember: (peerId: string) => boolean): (peerId: string) => number {
  return (peerId) => isMember(peerId) ? 0 : STRANGER_SCORE
}

export class Membrane {
  private readonly opts: MembraneOptions
  /** Peers we may dial although not members: the member named in a join token, during the join. */
  private readonly joinTargets = new Set<string>()
  /** Connected strangers: where from, and since when (insertion order is age). */
  private readonly strangers = new Map<string, string>()
  /** Addresses whose strangers idled out: refused until `until` (doubling per strike). */
  private readonly struck = new Map<string, { count: number, until: number, last: number }>()

  constructor (opts: MembraneOptions) {
    this.opts = opts
  }

  allowJoinTarget (peerId: string): () => void {
    this.joinTargets.add(peerId)
    return () => { this.joinTargets.delete(peerId) }
  }

  /** Records a connected peer; returns true when it is a stranger (the caller schedules its eviction). */
  connected (peerId: string, host = ''): boolean {
    if (this.opts.isMember(peerId)) return false
    if (!this.strangers.has(peerId)) this.strangers.set(peerId, host)
    return true
  }

  /** The stranger to push out for a newcomer: the oldest of the address with the most (null: none). */
  private victim (): string | null {
    const count = new Map<string, number>()
    for (const h of this.strangers.values()) count.set(h, (count.get(h) ?? 0) + 1)
    const most = Math.max(0, ...count.values())
    for (const [id, h] of this.strangers) if (count.get(h) === most) return id
    return null
  }

  disconnected (peerId: string): void { this.strangers.delete(peerId) }

  /** A connected stranger that just joined no longer counts against maxStrangers, and clears its address. */
  admitted (peerId: string): void {
    const host = this.strangers.get(peerId)
    if (host != null) this.struck.delete(host)
    this.strangers.delete(peerId)
  }

  /**
   * A stranger stayed its whole grace without joining: its address waits 1 s, then 2, 4 … up to maxBackoffMs before
   * another stranger from it may connect. Members, and strangers already connected, are never held back; a join from
   * the address clears it. (A failed join is no strike: an operator retrying a mistyped token is not held back.)
   */
  strike (peerId: string): void {
    const host = this.strangers.get(peerId)
    if (host == null || host === '') return
    const now = this.now()
    const prev = this.struck.get(host)
    const count = prev == null || now - prev.last > STRIKES_FORGOTTEN_MS ? 1 : prev.count + 1
    this.struck.delete(host)
    if (this.struck.size >= MAX_STRUCK_ADDRESSES) this.struck.delete(this.struck.keys().next().value as string)
    this.struck.set(host, { count, last: now, until: now + Math.min(this.opts.maxBackoffMs ?? 300_000, 1000 * 2 ** Math.min(count - 1, 30)) })
  }

  /** Until when an address is held back (0: it is not). */
  backoffUntil (host: string): number {
    const s = this.struck.get(host)
    return s == null || s.until <= this.now() ? 0 : s.until
  }

  private now (): number { return (this.opts.now ?? Date.now)() }

  strangerCount (): number { return this.strangers.size }

  gater (): ConnectionGater {
    return {
      // We dial only members, and a join target while joining; gossipsub or identify never make us reach out to strangers.
      denyDialPeer: (peerId: PeerId) => !this.opts.isMember(peerId.toString()) && !this.joinTargets.has(peerId.toString()),
      // Strangers may connect (the join handshake needs a connection) but only a few at once.
      denyInboundEncryptedConnection: (peerId: PeerId, maConn?: { remoteAddr?: { toString: () => string } }) => {
        const id = peerId.toString()
        if (this.opts.isExpelled?.(id) === true) return true
        if (this.opts.isMember(id) || this.strangers.has(id)) return false
        const host = hostOf(maConn?.remoteAddr?.toString() ?? '')
        if (this.backoffUntil(host) > 0) return true
        if (this.strangers.size < this.opts.maxStrangers) { this.strangers.set(id, host); return false }
        const victim = this.opts.evict == null ? null : this.victim()
        if (victim == null) return true
        this.strangers.delete(victim)
        this.opts.evict?.(victim)
        this.strangers.set(id, host)
        return false
      },
      denyOutboundEncryptedConnection: (peerId: PeerId) => !this.opts.isMember(peerId.toString()) && !this.joinTargets.has(peerId.toString())
    }
  }
}

export interface GossipFacts {
  signed: boolean
  /** The peer that handed us the message. */
  source: string
  /** The signing author (undefined when unsigned). */
  author?: string
  bytes: number
  /** Messages on the members topic may come from a newcomer: their payload carries its admission. */
  membersTopic: boolean
}

export type GossipVerdict = { accept: true } | { accept: false, reject: boolean, blame: string, reason: string }

/**
 * Whether a gossip message passes the membrane. Reject (which also lowers the relay's gossipsub score)
 * when the relay or the message is at fault; only ignore when a member relays a newcomer we have not learned yet.
 */
export function judgeGossip (m: GossipFacts, isMember: (peerId: string) => boolean, maxBytes: number): GossipVerdict {
  if (!m.signed || m.author == null) return { accept: false, reject: true, blame: m.source, reason: 'unsigned message' }
  if (!isMember(m.source)) return { accept: false, reject: true, blame: m.source, reason: 'relayed by a non-member' }
  if (m.bytes > maxBytes) return { accept: false, reject: true, blame: m.source, reason: `oversized (${m.bytes} bytes)` }
  if (m.membersTopic || isMember(m.author)) return { accept: true }
  return { accept: false, reject: false, blame: m.author, reason: 'author is not a member' }
}
