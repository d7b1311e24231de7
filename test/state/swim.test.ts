// The SWIM + Lifeguard detector, driven step by step: probes, indirect probes, suspicion, refutation, rejoin.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createDetector, step, livenessOf, seededRng, type DetectorState, type SwimAction, type SwimMsg } from '../../src/state/index.ts'

const opts = { probeIntervalMs: 300, probeTimeoutMs: 150, indirectChecks: 3, suspicionMinMs: 1000, suspicionMaxMs: 3000 }
const roster = ['a', 'b', 'c', 'd', 'e']

function det (self: string): DetectorState {
  const d = createDetector(self, seededRng(1), opts, 0)
  d.roster = roster
  d.nextProbeAt = 0
  return d
}
const sends = (actions: SwimAction[]): Array<{ to: string, msg: SwimMsg }> =>
  actions.flatMap((x) => x.type === 'send' ? [{ to: x.to, msg: x.msg }] : [])

test('a probe that is acked in time raises no suspicion', () => {
  const d = det('a')
  const [ping] = sends(step(d, { type: 'tick' }, 0).actions)
  assert.equal(ping.msg.t, 'ping')
  step(d, { type: 'message', from: ping.to, msg: { t: 'ack', seq: ping.msg.seq } }, 1)
  assert.equal(d.probe, null)
  assert.equal(livenessOf(d, ping.to).status, 'alive')
})

test('no ack by probeTimeout: k indirect probes; none by the end of the interval: suspect', () => {
  const d = det('a')
  const [ping] = sends(step(d, { type: 'tick' }, 0).actions)
  const req = sends(step(d, { type: 'tick' }, 150).actions)
  assert.equal(req.length, 3)
  assert.ok(req.every((r) => r.msg.t === 'ping-req' && r.msg.target === ping.to && r.to !== ping.to && r.to !== 'a'))
  const end = step(d, { type: 'tick' }, 300).actions
  assert.deepEqual(end.find((x) => x.type === 'status'), { type: 'status', id: ping.to, status: 'suspect', inc: 0 })
  assert.equal(d.lhm, 3, 'none of the three nacks came back either: local health worsens by each')
})

test('local health (Lifeguard): a refutation worsens it; a failed probe whose helpers all nacked does not', () => {
  const e = det('e')
  step(e, { type: 'gossip', from: 'b', m: [{ id: 'e', s: 'suspect', inc: 0, from: 'b' }] }, 0)
  assert.equal(e.lhm, 1, 'being suspected hints that we are the slow one')
  const d = det('a')
  step(d, { type: 'tick' }, 0)
  const helpers = sends(step(d, { type: 'tick' }, 150).actions)
  for (const h of helpers) step(d, { type: 'message', from: h.to, msg: { t: 'nack', seq: h.msg.seq } }, 200)
  step(d, { type: 'tick' }, 300)
  assert.equal(d.lhm, 0, 'every helper reached us: only the target is silent')
})

test('a slow member whose ack arrives after probeTimeout but within the interval stays alive', () => {
  const d = det('a')
  const [ping] = sends(step(d, { type: 'tick' }, 0).actions)
  step(d, { type: 'tick' }, 150)
  step(d, { type: 'message', from: ping.to, msg: { t: 'ack', seq: ping.msg.seq } }, 280)
  step(d, { type: 'tick' }, 300)
  assert.equal(livenessOf(d, ping.to).status, 'alive')
})

test('an intermediary relays a ping-req, forwards the ack, or sends a nack when the target is silent', () => {
  const c = det('c')
  const [ping] = sends(step(c, { type: 'message', from: 'a', msg: { t: 'ping-req', seq: 7, target: 'b' } }, 0).actions)
  assert.equal(ping.to, 'b')
  const [ack] = sends(step(c, { type: 'message', from: 'b', msg: { t: 'ack', seq: ping.msg.seq } }, 1).actions)
  assert.deepEqual([ack.to, ack.msg.t, ack.msg.seq], ['a', 'ack', 7])
  step(c, { type: 'message', from: 'a', msg: { t: 'ping-req', seq: 8, target: 'd' } }, 10)
  const nack = sends(step(c, { type: 'tick' }, 200).actions).find((s) => s.msg.t === 'nack')
  assert.deepEqual(nack, { to: 'a', msg: { t: 'nack', seq: 8 } })
})

test('suspicion times out to dead at suspicionMax, sooner with independent confirmations (Lifeguard)', () => {
  const alone = det('a')
  step(alone, { type: 'gossip', from: 'b', m: [{ id: 'e', s: 'suspect', inc: 0, from: 'b' }] }, 0)
  assert.equal(step(alone, { type: 'tick' }, 2999).actions.some((x) => x.type === 'status' && x.status === 'dead'), false)
  assert.ok(step(alone, { type: 'tick' }, 3000).actions.some((x) => x.type === 'status' && x.id === 'e' && x.status === 'dead'))

  const confirmed = det('a')
  step(confirmed, { type: 'gossip', from: 'b', m: [{ id: 'e', s: 'suspect', inc: 0, from: 'b' }] }, 0)
  step(confirmed, { type: 'gossip', from: 'c', m: [{ id: 'e', s: 'suspect', inc: 0, from: 'c' }, { id: 'e', s: 'suspect', inc: 0, from: 'd' }, { id: 'e', s: 'suspect', inc: 0, from: 'a2' }] }, 10)
  assert.ok(step(confirmed, { type: 'tick' }, 1000).actions.some((x) => x.type === 'status' && x.id === 'e' && x.status === 'dead'))
})

test('a suspected cell refutes with a higher incarnation, which overrides the suspicion everywhere', () => {
  const e = det('e')
  const { actions } = step(e, { type: 'gossip', from: 'b', m: [{ id: 'e', s: 'suspect', inc: 0, from: 'b' }] }, 0)
  assert.deepEqual(actions, [{ type: 'refute', inc: 1 }])
  const alive = e.queue[0].u
  assert.deepEqual(alive, { id: 'e', s: 'alive', inc: 1, from: 'e' })
  const a = det('a')
  step(a, { type: 'gossip', from: 'b', m: [{ id: 'e', s: 'suspect', inc: 0, from: 'b' }] }, 0)
  const back = step(a, { type: 'gossip', from: 'c', m: [alive] }, 5).actions
  assert.deepEqual(back, [{ type: 'status', id: 'e', status: 'alive', inc: 1 }])
  assert.equal(step(a, { type: 'tick' }, 5000).actions.some((x) => x.type === 'status' && x.status === 'dead'), false)
  // An old suspicion arriving late does not win over the refutation.
  step(a, { type: 'gossip', from: 'd', m: [{ id: 'e', s: 'suspect', inc: 0, from: 'd' }] }, 6000)
  assert.equal(livenessOf(a, 'e').status, 'alive')
})

test('a dead cell that comes back hears it was buried, and rejoins with a higher incarnation', () => {
  const a = det('a')
  step(a, { type: 'gossip', from: 'b', m: [{ id: 'e', s: 'dead', inc: 3, from: 'b' }] }, 0)
  assert.equal(livenessOf(a, 'e').status, 'dead')
  // e restarts (incarnation 0) and pings a; a's ack carries the dead notice.
  const e = det('e')
  const [ack] = sends(step(a, { type: 'message', from: 'e', msg: { t: 'ping', seq: 1 } }, 10).actions)
  assert.ok(ack.msg.t === 'ack' && ack.msg.m?.some((u) => u.id === 'e' && u.s === 'dead'))
  const r = step(e, { type: 'message', from: 'a', msg: ack.msg }, 11).actions
  assert.deepEqual(r, [{ type: 'refute', inc: 4 }])
  step(a, { type: 'gossip', from: 'e', m: [e.queue[0].u] }, 12)
  assert.deepEqual(livenessOf(a, 'e'), { status: 'alive', inc: 4 })
})

test('a cell held dead at an incarnation it already refuted tells the holder its current one (no stalemate after a heal)', () => {
  // b refuted a suspicion (incarnation 1) while a was cut off; a buried b at 0 and its reconnect ping says so.
  const b = det('b')
  step(b, { type: 'gossip', from: 'c', m: [{ id: 'b', s: 'suspect', inc: 0, from: 'c' }] }, 0)
  assert.equal(b.inc, 1)
  b.queue = [] // long ago: the refutation has been sent its number of times
  const a = det('a')
  step(a, { type: 'gossip', from: 'a', m: [{ id: 'b', s: 'dead', inc: 0, from: 'a' }] }, 0)
  const out = step(b, { type: 'message', from: 'a', msg: { t: 'ping', seq: 9, m: [{ id: 'b', s: 'dead', inc: 0, from: 'a' }] } }, 10).actions
  assert.equal(b.inc, 1, 'an old notice is not refuted again')
  for (const s of sends(out).filter((x) => x.to === 'a')) step(a, { type: 'message', from: 'b', msg: s.msg }, 11)
  assert.deepEqual(livenessOf(a, 'b'), { status: 'alive', inc: 1 })
})

test('dead is final for its incarnation: a stale alive or suspect does not revive it', () => {
  const a = det('a')
  step(a, { type: 'gossip', from: 'b', m: [{ id: 'e', s: 'dead', inc: 2, from: 'b' }] }, 0)
  step(a, { type: 'gossip', from: 'c', m: [{ id: 'e', s: 'alive', inc: 2, from: 'e' }, { id: 'e', s: 'suspect', inc: 2, from: 'c' }] }, 1)
  assert.equal(livenessOf(a, 'e').status, 'dead')
})

test('after a partition heals, both sides, each holding the other dead, ping each other back to alive', () => {
  // a and e each declared the other dead while cut off; the gossip that said so is long spent.
  const a = det('a')
  const e = det('e')
  step(a, { type: 'gossip', from: 'b', m: [{ id: 'e', s: 'dead', inc: 0, from: 'b' }] }, 0)
  step(e, { type: 'gossip', from: 'd', m: [{ id: 'a', s: 'dead', inc: 0, from: 'd' }] }, 0)
  a.queue.length = 0
  e.queue.length = 0
  const reconnectAll = { ...a.opts, reconnectChance: 1 }
  a.opts = reconnectAll
  // a's probe round also pings its dead member e, saying so.
  const ping = sends(step(a, { type: 'tick' }, 1000).actions).find((s) => s.to === 'e')
  assert.ok(ping != null && ping.msg.t === 'ping' && ping.msg.m?.some((u) => u.id === 'e' && u.s === 'dead'), 'a pings the member it buried and says so')
  // e refutes; its ack tells a that a is dead in e's view (a is talking to e), so a refutes too.
  const eOut = step(e, { type: 'message', from: 'a', msg: ping.msg }, 1001).actions
  assert.ok(eOut.some((x) => x.type === 'refute'))
  const ack = sends(eOut).find((s) => s.to === 'a')
  assert.ok(ack != null)
  const aOut = step(a, { type: 'message', from: 'e', msg: ack.msg }, 1002).actions
  assert.equal(livenessOf(a, 'e').status, 'alive', 'e\'s refutation reached a')
  assert.ok(aOut.some((x) => x.type === 'refute'), 'a learned e held it dead, and refutes')
  // a's next message to e carries a's new incarnation: e sees a alive again.
  const next = sends(step(a, { type: 'message', from: 'e', msg: { t: 'ping', seq: 9 } }, 1003).actions)[0]
  step(e, { type: 'message', from: 'a', msg: next.msg }, 1004)
  assert.equal(livenessOf(e, 'a').status, 'alive')
})

// With provenInc set (as every cell's engine sets it, from the signed cell records it holds), gossip cannot lie.
function guarded (self: string, proven: Record<string, number>): DetectorState {
  const d = det(self)
  d.provenInc = (id) => proven[id] ?? -1
  return d
}

test('a member cannot bury another at a huge incarnation: the accusation is dropped, not relayed', () => {
  const a = guarded('a', { e: 2 })
  const lie = { id: 'e', s: 'dead' as const, inc: 2 ** 53, from: 'b' }
  assert.deepEqual(step(a, { type: 'gossip', from: 'b', m: [lie] }, 0).actions, [])
  assert.deepEqual(livenessOf(a, 'e'), { status: 'alive', inc: 0 })
  assert.equal(a.queue.length, 0, 'nothing to relay')
  // At an incarnation e's own record proves, an accusation is an accusation (SWIM as before).
  step(a, { type: 'gossip', from: 'b', m: [{ id: 'e', s: 'suspect', inc: 2, from: 'b' }] }, 1)
  assert.deepEqual(livenessOf(a, 'e'), { status: 'suspect', inc: 2 })
  // Unguarded, the same lie would have stuck: e could never refute past 2^53.
  const old = det('a')
  step(old, { type: 'gossip', from: 'b', m: [lie] }, 0)
  assert.equal(livenessOf(old, 'e').inc, 2 ** 53)
})

test('only a cell itself (or its signed record) says it is alive at a new incarnation', () => {
  const a = guarded('a', {})
  step(a, { type: 'gossip', from: 'b', m: [{ id: 'e', s: 'dead', inc: 0, from: 'b' }] }, 0)
  // b relays a revival it made up: dropped.
  step(a, { type: 'gossip', from: 'b', m: [{ id: 'e', s: 'alive', inc: 1, from: 'e' }] }, 1)
  assert.equal(livenessOf(a, 'e').status, 'dead')
  // e says so itself: believed.
  step(a, { type: 'message', from: 'e', msg: { t: 'ping', seq: 9, m: [{ id: 'e', s: 'alive', inc: 1, from: 'e' }] } }, 2)
  assert.deepEqual(livenessOf(a, 'e'), { status: 'alive', inc: 1 })
  // Relayed by c once e's signed record at incarnation 2 is here: believed too.
  const c = guarded('c', { e: 2 })
  step(c, { type: 'gossip', from: 'b', m: [{ id: 'e', s: 'alive', inc: 2, from: 'e' }] }, 1)
  assert.deepEqual(livenessOf(c, 'e'), { status: 'alive', inc: 2 })
})

test('a cell refutes only accusations at its own incarnation, by one step; higher ones are lies it ignores', () => {
  const e = guarded('e', {})
  assert.deepEqual(step(e, { type: 'gossip', from: 'b', m: [{ id: 'e', s: 'dead', inc: 1000, from: 'b' }] }, 0).actions, [])
  assert.equal(e.inc, 0)
  assert.deepEqual(step(e, { type: 'gossip', from: 'b', m: [{ id: 'e', s: 'suspect', inc: 0, from: 'b' }] }, 1).actions, [{ type: 'refute', inc: 1 }])
})
