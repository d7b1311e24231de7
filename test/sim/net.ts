// The simulated peer network: each cell's link (the OrganismLink and MoveLink ports) over one lossy, LAN-latency
// fabric in simulated time. Cells can be killed, cut apart into partitions and healed; streams are duplex pairs
// that a cut or a kill destroys.
import { duplexPair } from 'node:stream'
import type { Duplex } from 'node:stream'
import { peersError } from '../../src/peers/errors.ts'
import type { OrganismLink } from '../../src/organism/index.ts'
import type { MoveLink } from '../../src/migrate/index.ts'
import type { Rng } from '../../src/state/rng.ts'
import type { SimTime } from './time.ts'

export type SimLink = OrganismLink & MoveLink

interface Endpoint {
  up: boolean
  requests: Map<string, (body: Uint8Array, from: string) => Promise<Uint8Array> | Uint8Array>
  listeners: Map<string, (body: Uint8Array, from: string) => void>
  streams: Map<string, (stream: Duplex, from: string) => void>
}

interface Pair { a: string, b: string, ends: Duplex[] }
const pairKey = (a: string, b: string): string => a < b ? `${a}|${b}` : `${b}|${a}`

export interface NetOptions { loss: number, latency: { medianMs: number, sigma: number, minMs: number, maxMs: number } }

export class SimNet {
  /** The membrane's view, the same on every cell: one array, replaced (never mutated) when a cell joins. */
  members: string[] = []
  /** Messages and requests each cell sent. */
  readonly sent = new Map<string, number>()
  private readonly ends = new Map<string, Endpoint>()
  private readonly side = new Map<string, number>()
  private readonly cuts = new Set<string>()
  private readonly pairs = new Set<Pair>()
  private readonly time: SimTime
  private readonly rng: Rng
  private readonly o: NetOptions

  constructor (time: SimTime, rng: Rng, o: NetOptions) { this.time = time; this.rng = rng; this.o = o }

  admit (id: string): void { if (!this.members.includes(id)) this.members = [...this.members, id].sort() }

  /** Cells in different sides of a partition reach nothing of each other; heal() puts every cell on one side. */
  partition (sides: ReadonlyArray<readonly string[]>): void {
    this.side.clear()
    sides.forEach((ids, i) => { for (const id of ids) this.side.set(id, i) })
    for (const p of [...this.pairs]) if (!this.reach(p.a, p.b)) this.cutPair(p)
  }

  heal (): void { this.side.clear(); this.cuts.clear() }

  /** Cuts the link between two cells only (their streams break at once); heal() or uncut() mends it. */
  cut (a: string, b: string): void {
    this.cuts.add(pairKey(a, b))
    for (const p of [...this.pairs]) if (pairKey(p.a, p.b) === pairKey(a, b)) this.cutPair(p)
  }

  uncut (a: string, b: string): void { this.cuts.delete(pairKey(a, b)) }

  kill (id: string): void {
    const e = this.ends.get(id)
    if (e != null) e.up = false
    for (const p of [...this.pairs]) if (p.a === id || p.b === id) this.cutPair(p)
  }

  reach (a: string, b: string): boolean {
    return this.ends.get(a)?.up === true && this.ends.get(b)?.up === true && (this.side.get(a) ?? 0) === (this.side.get(b) ?? 0) &&
      (this.cuts.size === 0 || !this.cuts.has(pairKey(a, b)))
  }

  /** A fresh endpoint for a cell starting (again): a restarted cell has none of its old handlers. */
  link (id: string): SimLink {
    const end: Endpoint = { up: true, requests: new Map(), listeners: new Map(), streams: new Map() }
    this.ends.set(id, end)
    this.sent.set(id, this.sent.get(id) ?? 0)
    const count = (): void => { this.sent.set(id, (this.sent.get(id) ?? 0) + 1) }
    const unreachable = (to: string): Error => peersError('PEERS_REQUEST_FAILED', `${to} cannot be reached from ${id}`)
    return {
      peerId: id,
      addrs: () => [`/sim/${id}`],
      members: () => this.members,
      admissions: () => [],
      onMember: () => () => {},
      publish: async () => 0,
      subscribe: () => () => {},
      handle: async (protocol, handler) => { end.requests.set(protocol, handler) },
      listen: async (protocol, handler) => { end.listeners.set(protocol, handler) },
      handleStream: async (protocol, handler) => { end.streams.set(protocol, handler) },
      send: async (to, protocol, body) => {
        if (!end.up) return
        count()
        if (!this.reach(id, to)) throw unreachable(to)
        if (this.rng() < this.o.loss) return
        this.time.at(this.time.now + this.latency(), () => { if (this.reach(id, to)) this.ends.get(to)?.listeners.get(protocol)?.(body, id) })
      },
      request: async (to, protocol, body) => {
        if (end.up) count()
        await this.hop()
        const there = this.ends.get(to)
        const handler = there?.requests.get(protocol)
        if (!this.reach(id, to) || handler == null) throw unreachable(to)
        const answer = await handler(body, id)
        await this.hop()
        if (!this.reach(id, to)) throw unreachable(to)
        return answer
      },
      openStream: async (to, protocol) => {
        count()
        await this.hop()
        const handler = this.ends.get(to)?.streams.get(protocol)
        if (!this.reach(id, to)) throw unreachable(to)
        if (handler == null) throw peersError('PEERS_PROTOCOL_UNSUPPORTED', `${to} does not serve ${protocol}`)
        const [mine, theirs] = duplexPair()
        const pair: Pair = { a: id, b: to, ends: [mine, theirs] }
        this.pairs.add(pair)
        mine.once('close', () => { this.pairs.delete(pair) })
        handler(theirs, id)
        return mine
      }
    }
  }

  private cutPair (p: Pair): void {
    this.pairs.delete(p)
    for (const s of p.ends) s.destroy()
  }

  private async hop (): Promise<void> {
    await new Promise<void>((resolve) => { this.time.at(this.time.now + this.latency(), resolve) })
  }

  private latency (): number {
    // Box–Muller normal, then lognormal: most messages near the median, a few slow ones.
    const z = Math.sqrt(-2 * Math.log(1 - this.rng())) * Math.cos(2 * Math.PI * this.rng())
    const { medianMs, sigma, minMs, maxMs } = this.o.latency
    return Math.min(maxMs, Math.max(minMs, medianMs * Math.exp(sigma * z)))
  }
}
