// Failure detection (pure): SWIM with Lifeguard's local health, nacks and confirmation-shortened suspicion.
import { pickRandom, type Rng } from './rng.ts'
import type { Liveness } from './types.ts'

export interface SwimOptions {
  /** One probe per interval (scaled by local health). */
  probeIntervalMs: number
  /** No ack by then: ask indirectChecks others to probe; no ack by the end of the interval: suspect. */
  probeTimeoutMs: number
  indirectChecks: number
  /** Suspicion timeout shrinks from max to min as independent confirmations arrive (Lifeguard). */
  suspicionMinMs: number
  suspicionMaxMs: number
  /** Each update is piggy-backed retransmitMult * ceil(log10(N + 1)) times. */
  retransmitMult: number
  maxPiggyback: number
  /** Lifeguard local health multiplier cap: a cell that misses acks itself slows its own probing. */
  maxLocalHealth: number
  /** Chance, per probe round, of also pinging one dead member, so that healed partitions rejoin. */
  reconnectChance: number
}

// memberlist's LAN timing, not tighter: on a loaded host (the lab on two busy cores) a state message
// (a new libp2p stream: one negotiation round trip, then the frame) took 200-250 ms one way at the
// median and ~1 s at p90, so a 150 ms probe timeout suspected every member every few seconds.
export const defaultSwimOptions: SwimOptions = {
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  suspicionMinMs: 1500,
  suspicionMaxMs: 5000,
  retransmitMult: 4,
  maxPiggyback: 8,
  maxLocalHealth: 8,
  reconnectChance: 0.3
}

export interface MemberUpdate { id: string, s: Liveness, inc: number, from: string }

export type SwimMsg =
  | { t: 'ping', seq: number, m?: MemberUpdate[] }
  | { t: 'ack', seq: number, m?: MemberUpdate[] }
  | { t: 'ping-req', seq: number, target: string, m?: MemberUpdate[] }
  | { t: 'nack', seq: number }

export type SwimEvent =
  | { type: 'tick' }
  | { type: 'message', from: string, msg: SwimMsg }
  /** Member updates that rode on a non-SWIM message (gossip, anti-entropy). */
  | { type: 'gossip', from: string, m: MemberUpdate[] }

export type SwimAction =
  | { type: 'send', to: string, msg: SwimMsg }
  | { type: 'status', id: string, status: Liveness, inc: number }
  /** Someone suspected or buried this cell: it now runs with a higher incarnation. */
  | { type: 'refute', inc: number }

interface Member { s: Liveness, inc: number, deadline: number, start: number, confirm: Set<string> | null }
interface Probe { target: string, seq: number, sentAt: number, indirect: boolean, nacks: number, expected: number }
interface Relay { origin: string, seq: number, until: number, acked: boolean }

export interface DetectorState {
  readonly self: string
  inc: number
  /** Members as the membrane knows them (may be shared between simulated cells: never mutated here). */
  roster: readonly string[]
  /** Only members we know something about; the rest count as alive at incarnation 0. */
  members: Map<string, Member>
  seq: number
  nextProbeAt: number
  probe: Probe | null
  relays: Map<number, Relay>
  queue: Array<{ u: MemberUpdate, left: number }>
  lhm: number
  rng: Rng
  opts: SwimOptions
  /**
   * The incarnation a member's own signed record proves (-1: none seen). When set, gossip cannot lie about others:
   * a new incarnation is believed only from the member itself or as its record proves it, and an accusation above
   * what is known of a member (or of this cell) is dropped, not relayed, so incarnations grow by steps of one.
   */
  provenInc?: (id: string) => number
}

export function createDetector (self: string, rng: Rng, opts: Partial<SwimOptions> = {}, now = 0): DetectorState {
  const o = { ...defaultSwimOptions, ...opts }
  return {
    self, inc: 0, roster: [], members: new Map(), seq: 0, probe: null, relays: new Map(), queue: [], lhm: 0, rng, opts: o,
    // A random phase so that cells started together do not probe in lockstep.
    nextProbeAt: now + rng() * o.probeIntervalMs
  }
}

export function livenessOf (st: DetectorState, id: string): { status: Liveness, inc: number } {
  if (id === st.self) return { status: 'alive', inc: st.inc }
  const m = st.members.get(id)
  return m == null ? { status: 'alive', inc: 0 } : { status: m.s, inc: m.inc }
}

/** Updates to piggy-back on an outgoing message (each sent a bounded number of times). */
export function takeUpdates (st: DetectorState, max = st.opts.maxPiggyback): MemberUpdate[] | undefined {
  if (st.queue.length === 0) return undefined
  const out: MemberUpdate[] = []
  const n = Math.min(max, st.queue.length)
  for (let i = 0; i < n; i++) {
    const item = st.queue.shift()!
    out.push(item.u)
    // Least-sent first: a sent update goes to the back.
    if (--item.left > 0) st.queue.push(item)
  }
  return out
}

function enqueue (st: DetectorState, u: MemberUpdate): void {
  st.queue = st.queue.filter((q) => q.u.id !== u.id)
  const limit = st.opts.retransmitMult * Math.ceil(Math.log10(st.roster.length + 2))
  st.queue.unshift({ u, left: limit })
}

function suspicionTimeout (st: DetectorState, confirmations: number): number {
  const { suspicionMinMs: min, suspicionMaxMs: max, indirectChecks: k } = st.opts
  if (confirmations <= 0) return max
  if (confirmations >= k) return min
  return Math.max(min, Math.round(max - (max - min) * Math.log(confirmations + 1) / Math.log(k + 1)))
}

/** Whether an update may be believed (and relayed): see provenInc. `sender` sent the message it came in. */
function credible (st: DetectorState, u: MemberUpdate, sender: string | null): boolean {
  if (st.provenInc == null) return true
  if (u.id === st.self) return u.s === 'alive' || u.inc <= st.inc
  const known = Math.max(st.members.get(u.id)?.inc ?? 0, st.provenInc(u.id))
  if (u.s === 'alive') return u.inc <= known || sender === u.id
  return u.inc <= known
}

/** Applies one membership update with SWIM's precedence rules. */
function apply (st: DetectorState, u: MemberUpdate, now: number, actions: SwimAction[], sender: string | null = null): void {
  if (!credible(st, u, sender)) return
  if (u.id === st.self) {
    if (u.s !== 'alive' && u.inc >= st.inc) {
      st.inc = u.inc + 1
      // Lifeguard: being suspected hints that we are the slow one, so probe others less eagerly.
      st.lhm = Math.min(st.opts.maxLocalHealth, st.lhm + 1)
      enqueue(st, { id: st.self, s: 'alive', inc: st.inc, from: st.self })
      actions.push({ type: 'refute', inc: st.inc })
    } else if (u.s !== 'alive' && u.from !== st.self && !st.queue.some((q) => q.u.id === st.self)) {
      // u.from holds us suspect or dead at an incarnation we already refuted (it was cut off when we did,
      // and that news is spent): nothing we send would say so again, so tell it the current one directly.
      // While our refutation is still being gossiped, stale echoes of the accusation need no answer of their own.
      const current = { id: st.self, s: 'alive' as const, inc: st.inc, from: st.self }
      enqueue(st, current)
      send(actions, u.from, { t: 'ping', seq: ++st.seq, m: [current] })
    }
    return
  }
  const cur = st.members.get(u.id) ?? { s: 'alive' as Liveness, inc: 0, deadline: 0, start: 0, confirm: null }
  const set = (m: Member): void => {
    const changed = m.s !== cur.s
    st.members.set(u.id, m)
    enqueue(st, u)
    if (changed || m.inc !== cur.inc) actions.push({ type: 'status', id: u.id, status: m.s, inc: m.inc })
  }
  if (u.s === 'alive') {
    if (u.inc > cur.inc) set({ s: 'alive', inc: u.inc, deadline: 0, start: 0, confirm: null })
  } else if (u.s === 'suspect') {
    if ((cur.s === 'alive' && u.inc >= cur.inc) || (cur.s === 'suspect' && u.inc > cur.inc)) {
      set({ s: 'suspect', inc: u.inc, start: now, deadline: now + suspicionTimeout(st, 0), confirm: new Set([u.from]) })
    } else if (cur.s === 'suspect' && u.inc === cur.inc && cur.confirm != null && !cur.confirm.has(u.from)) {
      cur.confirm.add(u.from)
      cur.deadline = cur.start + suspicionTimeout(st, cur.confirm.size - 1)
      // Re-gossip a confirmation so that others shorten their timers too (up to k of them).
      if (cur.confirm.size <= st.opts.indirectChecks + 1) enqueue(st, u)
    }
  } else if (cur.s !== 'dead' ? u.inc >= cur.inc : u.inc > cur.inc) {
    set({ s: 'dead', inc: u.inc, deadline: 0, start: 0, confirm: null })
  }
}

export function step (st: DetectorState, ev: SwimEvent, now: number): { state: DetectorState, actions: SwimAction[] } {
  const actions: SwimAction[] = []
  if (ev.type === 'tick') onTick(st, now, actions)
  else if (ev.type === 'gossip') for (const u of ev.m) apply(st, u, now, actions, ev.from)
  else onMessage(st, ev.from, ev.msg, now, actions)
  return { state: st, actions }
}

const send = (actions: SwimAction[], to: string, msg: SwimMsg): void => { actions.push({ type: 'send', to, msg }) }

function onMessage (st: DetectorState, from: string, msg: SwimMsg, now: number, actions: SwimAction[]): void {
  if (msg.t !== 'nack' && msg.m != null) for (const u of msg.m) apply(st, u, now, actions, from)
  // A cell we hold suspect or dead is talking to us: make sure it hears why, so it can refute.
  const known = st.members.get(from)
  if (known != null && known.s !== 'alive') enqueue(st, { id: from, s: known.s, inc: known.inc, from: st.self })
  switch (msg.t) {
    case 'ping':
      send(actions, from, { t: 'ack', seq: msg.seq, m: takeUpdates(st) })
      break
    case 'ack': {
      const p = st.probe
      if (p != null && p.seq === msg.seq) {
        st.probe = null
        st.lhm = Math.max(0, st.lhm - 1)
        break
      }
      const relay = st.relays.get(msg.seq)
      if (relay != null) {
        relay.acked = true
        st.relays.delete(msg.seq)
        send(actions, relay.origin, { t: 'ack', seq: relay.seq, m: takeUpdates(st) })
      }
      break
    }
    case 'ping-req': {
      const seq = ++st.seq
      st.relays.set(seq, { origin: from, seq: msg.seq, until: now + st.opts.probeTimeoutMs * 0.8, acked: false })
      send(actions, msg.target, { t: 'ping', seq, m: takeUpdates(st) })
      break
    }
    case 'nack':
      if (st.probe?.seq === msg.seq) st.probe.nacks++
      break
  }
}

function onTick (st: DetectorState, now: number, actions: SwimAction[]): void {
  const o = st.opts
  const scale = st.lhm + 1
  const p = st.probe
  if (p != null) {
    if (!p.indirect && now >= p.sentAt + o.probeTimeoutMs * scale) {
      p.indirect = true
      const helpers = pickRandom(st.roster, o.indirectChecks, st.rng, (id) => id === st.self || id === p.target || livenessOf(st, id).status === 'dead')
      p.expected = helpers.length
      for (const h of helpers) send(actions, h, { t: 'ping-req', seq: p.seq, target: p.target, m: takeUpdates(st) })
    }
    if (now >= p.sentAt + o.probeIntervalMs * scale) {
      st.probe = null
      // Lifeguard: each missing nack (or no helper at all) hints that our own links or scheduler are slow,
      // so probe less eagerly; all nacks back means the helpers reached us and only the target is silent.
      const missing = p.expected === 0 ? 1 : p.expected - p.nacks
      st.lhm = Math.min(o.maxLocalHealth, st.lhm + missing)
      const cur = livenessOf(st, p.target)
      if (cur.status !== 'dead') apply(st, { id: p.target, s: 'suspect', inc: cur.inc, from: st.self }, now, actions)
    }
  }
  for (const [seq, r] of st.relays) {
    if (now >= r.until) {
      st.relays.delete(seq)
      if (!r.acked) send(actions, r.origin, { t: 'nack', seq: r.seq })
    }
  }
  for (const [id, m] of st.members) {
    if (m.s === 'suspect' && now >= m.deadline) apply(st, { id, s: 'dead', inc: m.inc, from: st.self }, now, actions)
  }
  if (st.probe == null && now >= st.nextProbeAt) {
    const target = pickTarget(st)
    st.nextProbeAt = now + o.probeIntervalMs * scale
    // Now and then a ping to a member we buried: after a partition heals, each side learns the other
    // called it dead (the answer carries that), refutes with a higher incarnation, and both are alive again.
    // (The random draw only happens when someone is dead, so runs without deaths keep their sequence.)
    if ([...st.members.values()].some((m) => m.s === 'dead') && st.rng() < o.reconnectChance) {
      const buried = pickRandom(st.roster, 1, st.rng, (id) => id === st.self || livenessOf(st, id).status !== 'dead')[0]
      // The ping says outright that we hold it dead: the gossip that said so may be long spent.
      if (buried != null) send(actions, buried, { t: 'ping', seq: ++st.seq, m: [{ id: buried, s: 'dead', inc: livenessOf(st, buried).inc, from: st.self }, ...(takeUpdates(st) ?? [])] })
    }
    if (target != null) {
      const seq = ++st.seq
      st.probe = { target, seq, sentAt: now, indirect: false, nacks: 0, expected: 0 }
      send(actions, target, { t: 'ping', seq, m: takeUpdates(st) })
    }
  }
}

/** The next time a tick has something to do (timers only; messages are handled when they arrive). */
export function nextDue (st: DetectorState): number {
  const o = st.opts
  const scale = st.lhm + 1
  const p = st.probe
  let due = p == null ? st.nextProbeAt : p.sentAt + o.probeIntervalMs * scale
  if (p != null && !p.indirect) due = Math.min(due, p.sentAt + o.probeTimeoutMs * scale)
  for (const r of st.relays.values()) due = Math.min(due, r.until)
  for (const m of st.members.values()) if (m.s === 'suspect') due = Math.min(due, m.deadline)
  return due
}

/** A random live member; a suspect one now and then, so that confirmations (or refutations) come quickly. */
function pickTarget (st: DetectorState): string | undefined {
  const n = st.roster.length
  if (n === 0) return undefined
  const k = st.opts.indirectChecks
  if (st.rng() < Math.min(1, (2 * k) / n)) {
    for (const [id, m] of st.members) if (m.s === 'suspect' && (m.confirm == null || !m.confirm.has(st.self))) return id
  }
  return pickRandom(st.roster, 1, st.rng, (id) => id === st.self || livenessOf(st, id).status === 'dead')[0]
}
