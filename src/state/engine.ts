// One cell's state machine without I/O: records, push gossip, anti-entropy and SWIM in, messages out.
import { take, type Bucket, type BucketOptions } from '../core/bucket.ts'
import { diff, digest } from './digest.ts'
import { stateError } from './errors.ts'
import { judge } from './merge.ts'
import { cellKey, DEFAULT_MAX_RECORD_BYTES, placementKey, signedBytes, signRecord } from './record.ts'
import { pickRandom, type Rng } from './rng.ts'
import type { Signer, Verify } from './sign.ts'
import { createDetector, livenessOf, nextDue, step, takeUpdates, type DetectorState, type SwimAction, type SwimOptions } from './swim.ts'
import type { CellBody, PlacementBody, RecordBody, SignedRecord, StateEvent, Verdict } from './types.ts'
import type { Wire } from './wire.ts'

export interface EngineOptions {
  /** A new record is pushed at once to this many random members by every cell that first learns it.
   *  (5, not 4: with one probe a second, probe piggy-backs reach the few the push misses more slowly.) */
  fanout: number
  /** Records piggy-backed on each probe message, and how many times each cell sends a record that way. */
  piggybackRecords: number
  piggybackTimes: number
  /** Digest exchange with one random member this often. */
  antiEntropyMs: number
  maxRecordBytes: number
  /** Records one writer may hold (its cell record and a placement per function it owns), and the store in all. */
  maxKeysPerWriter: number
  maxRecords: number
  /** Per-sender token bucket: messages beyond it are dropped and counted. */
  flood: BucketOptions
  swim: Partial<SwimOptions>
}

export const defaultEngineOptions: EngineOptions = {
  fanout: 5,
  piggybackRecords: 2,
  piggybackTimes: 12,
  antiEntropyMs: 2000,
  maxRecordBytes: DEFAULT_MAX_RECORD_BYTES,
  maxKeysPerWriter: 1024,
  maxRecords: 100_000,
  flood: { ratePerSec: 500, burst: 1000 },
  swim: {}
}

export interface Outgoing { to: string, msg: Wire }

const verifiesAsOurs = (verify: Verify, rec: SignedRecord): boolean => verify(rec.writer, signedBytes(rec), rec.sig)

export interface EngineStats {
  received: number
  sent: number
  dropped: { flood: number }
  verdicts: Record<Verdict, number>
}

export type OwnCellBody = Omit<CellBody, 'kind' | 'incarnation'>

export interface PlacementClaim { epoch?: number, state?: 'serving' | 'moving', to?: string, handoff?: PlacementBody['handoff'], at?: number }

export interface EngineInit { signer: Signer, verify: Verify, rng: Rng, now: number, options?: Partial<EngineOptions> }

export class Engine {
  readonly self: string
  readonly store = new Map<string, SignedRecord>()
  readonly detector: DetectorState
  readonly stats: EngineStats = { received: 0, sent: 0, dropped: { flood: 0 }, verdicts: { applied: 0, stale: 0, duplicate: 0, forged: 0, 'wrong-writer': 0, malformed: 0, 'too-large': 0, 'not-member': 0, 'over-quota': 0 } }
  readonly opts: EngineOptions
  private readonly signer: Signer
  private readonly verify: Verify
  private readonly rng: Rng
  private readonly buckets = new Map<string, Bucket>()
  private readonly recQueue: Array<{ rec: SignedRecord, left: number }> = []
  private events: StateEvent[] = []
  private nextVersion = 1
  /** Records each writer holds in the store (for maxKeysPerWriter). */
  private readonly perWriter = new Map<string, number>()
  /** Who is a member (null: anyone, until the membrane says). */
  private isMember: ((id: string) => boolean) | null = null
  private ownCell: OwnCellBody | null = null
  private nextAntiEntropy: number

  constructor (init: EngineInit) {
    this.signer = init.signer
    this.self = init.signer.id
    this.verify = init.verify
    this.rng = init.rng
    this.opts = { ...defaultEngineOptions, ...init.options }
    this.detector = createDetector(this.self, init.rng, this.opts.swim, init.now)
    // What a cell's own signed record says of its incarnation: the only proof gossip about it is held to.
    this.detector.provenInc = (id) => (this.store.get(cellKey(id))?.body as CellBody | undefined)?.incarnation ?? -1
    this.nextAntiEntropy = init.now + this.rng() * this.opts.antiEntropyMs
  }

  /**
   * The members to probe and gossip with (from the membrane); may be shared, never mutated. isMember: records of
   * other writers are dropped, and not relayed, from then on.
   */
  setRoster (members: readonly string[], isMember?: (id: string) => boolean): void {
    this.detector.roster = members
    if (isMember != null) this.isMember = isMember
  }

  /**
   * Forgets every record written by cells that are no longer members. They stay out: a record whose writer is not a
   * member is refused when it comes back (the membrane's expulsion list is the tombstone).
   */
  forget (writers: readonly string[]): void {
    const gone = new Set(writers.filter((w) => w !== this.self))
    if (gone.size === 0) return
    for (const [key, rec] of this.store) {
      if (!gone.has(rec.writer)) continue
      if (rec.body.kind === 'cell') this.events.push({ type: 'cell-removed', peer: rec.writer, name: (rec.body as CellBody).name })
      this.store.delete(key)
      this.perWriter.delete(rec.writer)
    }
  }

  /** Puts a record in the store, keeping count of each writer's records. */
  private put (rec: SignedRecord): void {
    const prev = this.store.get(rec.key)
    if (prev?.writer !== rec.writer) {
      if (prev != null) this.perWriter.set(prev.writer, (this.perWriter.get(prev.writer) ?? 1) - 1)
      this.perWriter.set(rec.writer, (this.perWriter.get(rec.writer) ?? 0) + 1)
    }
    this.store.set(rec.key, rec)
  }

  /** Why a record that would apply may not enter the store, or null. */
  private refusal (rec: SignedRecord): 'not-member' | 'over-quota' | null {
    if (rec.writer === this.self) return null
    if (this.isMember != null && !this.isMember(rec.writer)) return 'not-member'
    const replaces = this.store.get(rec.key)
    if (replaces?.writer === rec.writer) return null
    if ((this.perWriter.get(rec.writer) ?? 0) >= this.opts.maxKeysPerWriter) return 'over-quota'
    if (replaces == null && this.store.size >= this.opts.maxRecords) return 'over-quota'
    return null
  }

  /** Events since the last call, oldest first. */
  drainEvents (): StateEvent[] {
    const e = this.events
    this.events = []
    return e
  }

  /** Signs and spreads this cell's own record (incarnation filled in from the detector). */
  setOwnRecord (body: OwnCellBody): Outgoing[] {
    this.ownCell = body
    return this.writeOwn(cellKey(this.self), { ...body, kind: 'cell', incarnation: this.detector.inc })
  }

  /** Writes fn's placement with this cell as owner: same epoch if it owns fn, else the next epoch. */
  claimPlacement (fn: string, claim: PlacementClaim = {}): Outgoing[] {
    const cur = this.store.get(placementKey(fn))?.body as PlacementBody | undefined
    const owned = cur?.owner === this.self
    const epoch = claim.epoch ?? (cur == null ? 1 : owned ? cur.epoch : cur.epoch + 1)
    if (cur != null && (epoch < cur.epoch || (epoch === cur.epoch && !owned))) {
      throw stateError('STATE_NOT_OWNER', `cannot write placement of ${fn} at epoch ${epoch}: ${cur.owner} owns it at epoch ${cur.epoch}`, { details: { fn, owner: cur.owner, epoch: cur.epoch } })
    }
    const body: PlacementBody = { kind: 'placement', fn, owner: this.self, epoch, state: claim.state ?? 'serving', to: claim.to, handoff: claim.handoff, at: claim.at }
    return this.writeOwn(placementKey(fn), body)
  }

  private writeOwn (key: string, body: RecordBody): Outgoing[] {
    const rec = signRecord(this.signer, key, this.nextVersion++, body)
    this.put(rec)
    this.stats.verdicts.applied++
    this.noteApplied(rec, undefined, undefined)
    return this.spread([rec], undefined)
  }

  receive (from: string, msg: Wire, now: number): Outgoing[] {
    const passed = take(this.buckets.get(from), now, this.opts.flood)
    this.buckets.set(from, passed.bucket)
    if (!passed.ok) { this.stats.dropped.flood++; return [] }
    this.stats.received++
    const out: Outgoing[] = []
    switch (msg.t) {
      case 'push':
        this.ingest(from, msg.recs, true, out, now)
        if (msg.m != null) this.swim({ type: 'gossip', from, m: msg.m }, now, out)
        break
      case 'ae': {
        if (msg.m != null) this.swim({ type: 'gossip', from, m: msg.m }, now, out)
        const { send, want } = diff(this.store, msg.d)
        if (send.length > 0 || want.length > 0) out.push({ to: from, msg: { t: 'ae-reply', recs: send.map((k) => this.store.get(k)!), want } })
        break
      }
      case 'ae-reply': {
        // Repairs are not news: merged, but not pushed on (a cell back from the dead would flood otherwise).
        this.ingest(from, msg.recs, false, out, now)
        const recs = msg.want.map((k) => this.store.get(k)).filter((r) => r != null)
        if (recs.length > 0) out.push({ to: from, msg: { t: 'ae-reply', recs, want: [] } })
        break
      }
      default:
        if (msg.t !== 'nack' && msg.recs != null) this.ingest(from, msg.recs, true, out, now)
        this.swim({ type: 'message', from, msg }, now, out)
    }
    this.stats.sent += out.length
    return out
  }

  tick (now: number): Outgoing[] {
    const out: Outgoing[] = []
    this.swim({ type: 'tick' }, now, out)
    if (now >= this.nextAntiEntropy) {
      this.nextAntiEntropy = now + this.opts.antiEntropyMs
      const peer = this.randomMembers(1, undefined)[0]
      if (peer != null) out.push({ to: peer, msg: { t: 'ae', d: digest(this.store), m: takeUpdates(this.detector, 4) } })
    }
    this.stats.sent += out.length
    return out
  }

  /** The next digest exchange as soon as tick() runs (a cell that just joined learns every record now). */
  antiEntropySoon (now: number): void { this.nextAntiEntropy = Math.min(this.nextAntiEntropy, now) }

  /** When tick() next has work; a driver may sleep until then (the simulator does). */
  nextDue (): number { return Math.min(nextDue(this.detector), this.nextAntiEntropy) }

  private swim (ev: Parameters<typeof step>[1], now: number, out: Outgoing[]): void {
    const { actions } = step(this.detector, ev, now)
    let news = false
    for (const a of actions) news = this.onSwimAction(a, out) || news
    // A change of liveness is news like a new record: pushed at once to a few members, not only piggy-backed.
    if (news) {
      const m = takeUpdates(this.detector)
      for (const to of this.randomMembers(this.opts.fanout, undefined)) out.push({ to, msg: { t: 'push', recs: [], m } })
    }
  }

  private onSwimAction (a: SwimAction, out: Outgoing[]): boolean {
    if (a.type === 'send') {
      const msg: Wire = a.msg.t === 'nack' ? a.msg : { ...a.msg, recs: this.piggyback() }
      out.push({ to: a.to, msg })
      return false
    }
    if (a.type === 'status') {
      this.events.push({ type: a.status === 'alive' ? 'cell-alive' : a.status === 'suspect' ? 'cell-suspect' : 'cell-dead', peer: a.id, incarnation: a.inc })
      return true
    }
    // Refuted: our record carries the new incarnation, so the refutation is signed too.
    if (this.ownCell != null) for (const o of this.setOwnRecord(this.ownCell)) out.push(o)
    return true
  }

  private piggyback (): SignedRecord[] | undefined {
    if (this.recQueue.length === 0) return undefined
    const recs: SignedRecord[] = []
    for (let i = 0; i < this.opts.piggybackRecords && this.recQueue.length > 0; i++) {
      const item = this.recQueue.shift()!
      // A record superseded since it was queued is not worth sending.
      if (this.store.get(item.rec.key) !== item.rec) { i--; continue }
      recs.push(item.rec)
      if (--item.left > 0) this.recQueue.push(item)
    }
    return recs.length > 0 ? recs : undefined
  }

  private ingest (from: string, recs: unknown[], news: boolean, out: Outgoing[], now: number): void {
    const fresh: SignedRecord[] = []
    for (const input of recs) {
      const j0 = judge(this.store, input, this.verify, this.opts)
      const refused = j0.verdict === 'applied' && j0.record != null ? this.refusal(j0.record) : null
      const j = refused == null ? j0 : { verdict: refused, record: j0.record }
      this.stats.verdicts[j.verdict]++
      const rec = j.record
      if (j.verdict === 'applied' && rec != null) {
        if (rec.writer === this.self && this.reclaim(rec, out)) continue
        const prev = this.store.get(rec.key)
        this.put(rec)
        this.noteApplied(rec, prev, j.displaced)
        fresh.push(rec)
        // A cell's signed record is its own word that it lives at that incarnation.
        if (rec.body.kind === 'cell') this.swim({ type: 'gossip', from: rec.writer, m: [{ id: rec.writer, s: 'alive', inc: rec.body.incarnation, from: rec.writer }] }, now, out)
      } else if (j.verdict === 'stale' && rec != null) {
        // One of ours from before a restart that lost count (same version, other signature): take back its count.
        if (rec.writer === this.self && rec.version >= (this.store.get(rec.key)?.version ?? 0) && verifiesAsOurs(this.verify, rec) && this.reclaim(rec, out)) continue
        // The sender is behind (or lost a partition tie): tell it at once rather than wait for anti-entropy.
        out.push({ to: from, msg: { t: 'ae-reply', recs: [this.store.get(rec.key)!], want: [] } })
      } else if (j.verdict !== 'duplicate') {
        this.events.push({ type: 'record-rejected', from, key: rec?.key ?? (input as { key?: string } | null)?.key, verdict: j.verdict })
      }
    }
    if (news && fresh.length > 0) for (const o of this.spread(fresh, from)) out.push(o)
  }

  /** A record of ours newer than we remember (we restarted and lost count): jump past it and re-sign. */
  private reclaim (rec: SignedRecord, out: Outgoing[]): boolean {
    this.nextVersion = Math.max(this.nextVersion, rec.version + 1)
    // Its incarnation too: others may hold us dead at it, and only an accusation at our own incarnation is believed.
    if (rec.body.kind === 'cell') this.detector.inc = Math.max(this.detector.inc, rec.body.incarnation)
    if (rec.body.kind === 'cell' && this.ownCell != null) {
      for (const o of this.setOwnRecord(this.ownCell)) out.push(o)
      return true
    }
    return false
  }

  private noteApplied (rec: SignedRecord, prev: SignedRecord | undefined, displaced: string | undefined): void {
    const b = rec.body
    if (b.kind === 'cell') {
      if (prev == null && rec.writer !== this.self) this.events.push({ type: 'cell-joined', peer: rec.writer })
      return
    }
    const p = prev?.body as PlacementBody | undefined
    if (p == null || p.owner !== b.owner || p.epoch !== b.epoch || p.state !== b.state) {
      this.events.push({ type: 'placement-changed', fn: b.fn, owner: b.owner, epoch: b.epoch, previous: p?.owner })
    }
    if (displaced === this.self) this.events.push({ type: 'placement-lost', fn: b.fn, winner: b.owner, epoch: b.epoch })
  }

  private spread (recs: SignedRecord[], from: string | undefined): Outgoing[] {
    for (const rec of recs) this.recQueue.unshift({ rec, left: this.opts.piggybackTimes })
    const m = takeUpdates(this.detector, 4)
    return this.randomMembers(this.opts.fanout, from).map((to) => ({ to, msg: { t: 'push', recs, m } }))
  }

  private randomMembers (n: number, except: string | undefined): string[] {
    return pickRandom(this.detector.roster, n, this.rng, (id) => id === this.self || id === except || livenessOf(this.detector, id).status === 'dead')
  }
}
