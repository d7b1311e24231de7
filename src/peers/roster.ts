// Spreading the member list: admissions, expulsions and members' own addresses by gossip, plus a periodic pull
// (anti-entropy).
import { parseAdmission } from './admission.ts'
import type { Admission } from './admission.ts'
import type { Expulsion } from './expulsion.ts'
import type { Membership } from './membership.ts'

export interface RosterContext {
  selfId: string
  membership: Membership
  publish: (topic: string, data: Uint8Array) => Promise<void>
  request: (to: string, protocol: string, body: Uint8Array) => Promise<Uint8Array>
  selfAddrs: () => string[]
  knownAddrs: (peerId: string) => Promise<string[]>
  /** Adds addresses for a member to the address book (they are hints: Noise proves who answers). */
  learnAddrs: (peerId: string, addrs: string[]) => Promise<void>
  connectedMembers: () => string[]
  drop: (kind: 'gossip', from: string, reason: string) => void
  /** Verifies and applies an expulsion a member passed on (the caller knows how to check it). */
  takeExpulsion: (raw: unknown, from: string) => Promise<void>
  expulsions: () => Expulsion[]
}

/** What travels on the members topic and in sync answers: an admission, and addresses when its subject sends it. */
interface Entry { admission: Admission, addrs?: string[] }

const MAX_ADDRS = 8
const MAX_ENTRIES = 100_000

export class Roster {
  readonly topic: string
  readonly protocol: string
  private readonly ctx: RosterContext

  constructor (organism: string, ctx: RosterContext) {
    this.topic = `organism/${organism}/members`
    this.protocol = `/organism/${organism}/members/1.0.0`
    this.ctx = ctx
  }

  /** An operator's expulsion, checked here, goes to every member. */
  async announceExpulsion (expulsion: Expulsion): Promise<void> {
    await this.ctx.publish(this.topic, new TextEncoder().encode(JSON.stringify({ expulsion })))
  }

  /** A sponsor spreads the admission it just signed, with the addresses the newcomer gave it. */
  async announce (record: Admission, addrs: string[]): Promise<void> {
    await this.ctx.publish(this.topic, encode({ admission: record, addrs }))
  }

  /** A member tells the others where it listens; the admission inside lets them accept it even before the sponsor's gossip. */
  async hello (): Promise<void> {
    const own = this.ownEntry()
    if (own != null) await this.ctx.publish(this.topic, encode(own))
  }

  /** A message on the members topic; `author` is the gossipsub-signed origin. */
  async onGossip (data: Uint8Array, author: string): Promise<void> {
    const raw = parse(data)
    if (isExpulsionEntry(raw)) { await this.ctx.takeExpulsion(raw.expulsion, author); return }
    const entry = toEntry(raw)
    if (entry == null) { this.ctx.drop('gossip', author, 'malformed members message'); return }
    await this.take(entry, author)
  }

  /** Sync request: the asker's own entry in, every entry we know out. */
  async answerSync (body: Uint8Array, from: string): Promise<Uint8Array> {
    const theirs = toEntry(parse(body))
    if (theirs != null) await this.take(theirs, from)
    const entries: Array<Entry | { expulsion: Expulsion }> = this.ctx.expulsions().map((expulsion) => ({ expulsion }))
    for (const admission of this.ctx.membership.records()) {
      entries.push({ admission, addrs: admission.peerId === this.ctx.selfId ? this.ctx.selfAddrs() : await this.ctx.knownAddrs(admission.peerId) })
    }
    return new TextEncoder().encode(JSON.stringify(entries))
  }

  async syncWith (peerId: string): Promise<void> {
    const own = this.ownEntry()
    const answer = await this.ctx.request(peerId, this.protocol, own != null ? encode(own) : new Uint8Array(0))
    let list: unknown
    try { list = JSON.parse(new TextDecoder().decode(answer)) } catch { list = undefined }
    if (!Array.isArray(list)) return
    for (const raw of list.slice(0, MAX_ENTRIES)) {
      if (isExpulsionEntry(raw)) { await this.ctx.takeExpulsion(raw.expulsion, peerId); continue }
      const entry = toEntry(raw)
      // Addresses of third parties come from a member we asked: trusted as hints.
      if (entry != null) await this.take(entry, peerId, true)
    }
  }

  /** One sync with a random connected member; returns false when there is none. */
  async syncRandom (): Promise<boolean> {
    if (!this.ctx.membership.has(this.ctx.selfId)) return false
    const peers = this.ctx.connectedMembers()
    if (peers.length === 0) return false
    await this.syncWith(peers[Math.floor(Math.random() * peers.length)])
    return true
  }

  private async take (entry: Entry, sender: string, senderVouches = false): Promise<void> {
    const verdict = await this.ctx.membership.add(entry.admission)
    if (!verdict.ok) { this.ctx.drop('gossip', sender, `admission refused: ${verdict.reason}`); return }
    const subject = entry.admission.peerId
    if (entry.addrs == null || entry.addrs.length === 0 || subject === this.ctx.selfId) return
    // Addresses count from the subject itself, from its admitter, or from a member we asked.
    if (sender === subject || sender === entry.admission.admittedBy || senderVouches) await this.ctx.learnAddrs(subject, entry.addrs)
  }

  private ownEntry (): Entry | undefined {
    const admission = this.ctx.membership.recordsOf(this.ctx.selfId)[0]
    return admission == null ? undefined : { admission, addrs: this.ctx.selfAddrs() }
  }
}

function encode (entry: Entry): Uint8Array { return new TextEncoder().encode(JSON.stringify(entry)) }

function parse (data: Uint8Array): unknown {
  try { return JSON.parse(new TextDecoder().decode(data)) } catch { return undefined }
}

function isExpulsionEntry (raw: unknown): raw is { expulsion: unknown } {
  return raw != null && typeof raw === 'object' && 'expulsion' in raw
}

function toEntry (raw: unknown): Entry | undefined {
  if (raw == null || typeof raw !== 'object') return undefined
  const v = raw as { admission?: unknown, addrs?: unknown }
  const admission = parseAdmission(v.admission)
  if (admission == null) return undefined
  const addrs = Array.isArray(v.addrs) ? v.addrs.filter((a): a is string => typeof a === 'string' && a.length < 512).slice(0, MAX_ADDRS) : undefined
  return { admission, addrs }
}
