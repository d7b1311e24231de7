// Prints how fast one change reaches 1,000 and 10,000 simulated cells (1% loss), the message rates, and a memberlist model;
// then the whole control plane of 1,000 cells: messages, a death and a division until every cell routes to the new owner.
import { Sim, percentile } from '../test/sim/network.ts'
import { seededRng } from '../src/state/rng.ts'
import { Heap } from '../test/sim/heap.ts'
import { controlPlaneBench } from './control-plane.ts'

function run (n: number): void {
  const wall0 = performance.now()
  const sim = new Sim({ n, seed: 42 })
  const arrival = new Float64Array(n).fill(-1)
  let t0 = 0
  sim.onEvent((i, e, now) => { if (e.type === 'placement-changed' && e.fn === 'bench' && arrival[i] < 0) arrival[i] = now - t0 })
  sim.runUntil(3000)
  const s0 = Array.from(sim.sentBy)
  sim.runUntil(5000)
  const steady = Array.from(sim.sentBy, (v, i) => (v - s0[i]) / 2)
  t0 = sim.now
  const c0 = Array.from(sim.sentBy)
  sim.act(0, (e) => e.claimPlacement('bench'))
  arrival[0] = 0
  sim.runUntil(t0 + 1000)
  const during = Array.from(sim.sentBy, (v, i) => v - c0[i])
  sim.runUntil(t0 + 3000)
  const a = Array.from(arrival).sort((x, y) => x - y)
  const missing = a.filter((x) => x < 0).length
  const mean = (xs: number[]): number => xs.reduce((p, q) => p + q, 0) / xs.length
  const fmt = (x: number): string => x.toFixed(1)
  console.log(`${n} cells, 1% loss, LAN latency 0.2–1 ms (lognormal, median 0.4 ms)`)
  console.log(`  one change reaches every cell in ${missing > 0 ? `— (${missing} missing after 3 s)` : `${fmt(a[n - 1])} ms`} simulated; per-cell arrival p50 ${fmt(percentile(a, 0.5))} ms, p99 ${fmt(percentile(a, 0.99))} ms`)
  console.log(`  messages sent per cell per second: steady ${fmt(mean(steady))} (max cell ${fmt(Math.max(...steady))}); in the second of the change ${fmt(mean(during))} (max cell ${fmt(Math.max(...during))})`)
  console.log(`  wall time ${((performance.now() - wall0) / 1000).toFixed(1)} s for ${(sim.now / 1000).toFixed(0)} s simulated (${sim.delivered} messages delivered)`)
}

/**
 * memberlist/Serf's dissemination as configured for a LAN: every GossipInterval (200 ms) each node sends its queued
 * broadcasts to GossipNodes (3) random nodes; a broadcast is sent RetransmitMult (4) * ceil(log10(n + 1)) times in all.
 */
function memberlist (n: number): { all: number, p50: number, p99: number } {
  const rng = seededRng(7)
  const limit = 4 * Math.ceil(Math.log10(n + 1))
  const got = new Float64Array(n).fill(-1)
  const left = new Int32Array(n)
  const phase = Float64Array.from({ length: n }, () => rng() * 200)
  const heap = new Heap<{ at: number, seq: number, node: number, kind: 'tick' | 'recv' }>()
  let seq = 0
  const infect = (i: number, at: number): void => {
    if (got[i] >= 0) return
    got[i] = at
    left[i] = limit
    const next = phase[i] + Math.ceil((at - phase[i]) / 200) * 200
    heap.push({ at: next, seq: ++seq, node: i, kind: 'tick' })
  }
  infect(0, 0)
  for (let ev = heap.pop(); ev != null; ev = heap.pop()) {
    if (ev.kind === 'recv') { infect(ev.node, ev.at); continue }
    for (let k = 0; k < 3 && left[ev.node] > 0; k++) {
      left[ev.node]--
      const to = Math.floor(rng() * n)
      if (rng() >= 0.01) heap.push({ at: ev.at + 0.2 + rng() * 0.8, seq: ++seq, node: to, kind: 'recv' })
    }
    if (left[ev.node] > 0) heap.push({ at: ev.at + 200, seq: ++seq, node: ev.node, kind: 'tick' })
  }
  const a = Array.from(got).sort((x, y) => x - y)
  return { all: a[0] < 0 ? NaN : a[n - 1], p50: percentile(a, 0.5), p99: percentile(a, 0.99) }
}

for (const n of [1000, 10_000]) {
  run(n)
  const m = memberlist(n)
  console.log(`  memberlist model (gossip 200 ms, fanout 3, retransmit 4·⌈log10(n+1)⌉): every cell in ${Number.isNaN(m.all) ? '— (some never reached)' : `${m.all.toFixed(0)} ms`}, p50 ${m.p50.toFixed(0)} ms, p99 ${m.p99.toFixed(0)} ms`)
}
console.log('Serf/memberlist figure for comparison: ~2.2 s for 1,000 nodes (the figure quoted in the issue; the model above is ours).')

console.log('1000 cells, whole control planes (organism, mover, reconciler, division driver; fake hosts), 1% loss, LAN latency')
for (const line of await controlPlaneBench(1000, 42)) console.log(line)
