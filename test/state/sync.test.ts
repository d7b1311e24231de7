// createStateSync over an in-memory transport: spread, liveness, the change feed, and bad input from members.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate as tick } from 'node:timers/promises'
import { FakeClock } from '../../src/core/clock.ts'
import { peersError } from '../../src/peers/errors.ts'
import { createStateSync, fakeSignatureSigner, fakeSignatureVerify, encodeWire, type StateSync, type StateTransport, type StateEvent } from '../../src/state/index.ts'

type Handler = (body: Uint8Array, from: string) => Promise<Uint8Array> | Uint8Array

/** Members on one in-memory bus; `down` members neither send nor answer. */
function bus () {
  const handlers = new Map<string, Handler>()
  const down = new Set<string>()
  const transport = (self: string): StateTransport => ({
    self,
    members: () => [...handlers.keys()],
    publish: () => {},
    subscribe: () => () => {},
    handle: (_p, h) => { handlers.set(self, h) },
    request: async (peer, _p, body) => {
      await tick()
      const h = handlers.get(peer)
      if (h == null || down.has(peer) || down.has(self)) throw new Error('unreachable')
      return await h(body, self)
    }
  })
  return { handlers, down, transport }
}

const body = (name: string) => ({ name, addrs: { peer: [] }, load: { rps: 0, cpu: 0, memory: 0 }, functions: [], software: '0.1.0', genome: 'g' })

async function organism (n: number) {
  const b = bus()
  const clock = new FakeClock(1_000_000)
  const verify = fakeSignatureVerify()
  const syncs: StateSync[] = []
  for (let i = 0; i < n; i++) {
    const id = `p${i}`
    const s = createStateSync({ transport: b.transport(id), signer: fakeSignatureSigner(id), verify, clock, seed: i + 1, options: { tickMs: 0, flood: { ratePerSec: 50, burst: 100 } } })
    await s.start()
    syncs.push(s)
  }
  const run = async (ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += 10) {
      clock.advance(10)
      for (const [i, s] of syncs.entries()) if (!b.down.has(`p${i}`)) s.tick()
      await tick()
      await tick()
    }
  }
  return { b, clock, syncs, run }
}

test('records written on one cell reach the others; cells() and placements() show them', async () => {
  const { syncs, run } = await organism(4)
  syncs.forEach((s, i) => s.setOwnRecord(body(`cell ${i}`)))
  syncs[2].claimPlacement('wiki')
  // p0 wrote before the others existed: anti-entropy (every 2 s) brings it to them.
  await run(3000)
  for (const s of syncs) {
    assert.equal(s.records().length, 5)
    assert.deepEqual(s.cells().map((c) => [c.peer, c.liveness, c.record?.body.name]), [['p0', 'alive', 'cell 0'], ['p1', 'alive', 'cell 1'], ['p2', 'alive', 'cell 2'], ['p3', 'alive', 'cell 3']])
    assert.deepEqual(s.placements().map((p) => [p.fn, p.owner, p.epoch, p.state]), [['wiki', 'p2', 1, 'serving']])
  }
  await Promise.all(syncs.map((s) => s.stop()))
})

test('the change feed reports a member going silent as suspect, then dead', async () => {
  const { b, syncs, run } = await organism(4)
  syncs.forEach((s, i) => s.setOwnRecord(body(`cell ${i}`)))
  await run(200)
  const ac = new AbortController()
  const seen: StateEvent[] = []
  const reading = (async () => { for await (const e of syncs[0].changes(ac.signal)) seen.push(e) })()
  b.down.add('p3')
  await run(6000)
  ac.abort()
  await reading
  assert.deepEqual(seen.filter((e) => 'peer' in e && e.peer === 'p3').map((e) => e.type).filter((t, i, a) => a.indexOf(t) === i), ['cell-suspect', 'cell-dead'])
  assert.equal(syncs[0].cells().find((c) => c.peer === 'p3')?.liveness, 'dead')
  await Promise.all(syncs.map((s) => s.stop()))
})

test('malformed and oversized messages are dropped and counted; the cell keeps working', async () => {
  const { b, syncs, run } = await organism(2)
  const h = b.handlers.get('p0')!
  const junk = [new Uint8Array([0xff, 0xfe]), new TextEncoder().encode('{"t":"push"'), new TextEncoder().encode('{"t":"ping","seq":-1}'),
    new TextEncoder().encode('[1,2]'), encodeWire({ t: 'push', recs: [{ key: 'cell/x' } as never] })]
  for (const j of junk) await h(j, 'p1')
  await h(new Uint8Array(2 * 1024 * 1024), 'p1')
  const st = syncs[0].stats()
  assert.equal(st.dropped.malformed, 4)
  assert.equal(st.dropped.tooLarge, 1)
  assert.equal(st.verdicts.malformed, 1, 'a bad record inside a good envelope is rejected by merge')
  syncs[1].setOwnRecord(body('one'))
  await run(50)
  assert.equal(syncs[0].records().length, 1)
  await Promise.all(syncs.map((s) => s.stop()))
})

test('a flood from one member is rate-limited per sender and counted; other members still get through', async () => {
  const { b, syncs, run } = await organism(3)
  const h = b.handlers.get('p0')!
  const ping = encodeWire({ t: 'ping', seq: 1 })
  for (let i = 0; i < 5000; i++) await h(ping, 'p1')
  const st = syncs[0].stats()
  assert.ok(st.dropped.flood >= 4800, `dropped ${st.dropped.flood}`)
  syncs[2].setOwnRecord(body('two'))
  await run(50)
  assert.equal(syncs[0].records().length, 1, 'p2 is not punished for p1')
  await Promise.all(syncs.map((s) => s.stop()))
})

test('state messages go on the channel where the transport has one; a cell without it gets requests', async () => {
  const b = bus()
  const listeners = new Map<string, (body: Uint8Array, from: string) => void>()
  const old = new Set(['p2'])
  const used = { channel: 0, request: 0 }
  const withChannel = (self: string): StateTransport => {
    const base = b.transport(self)
    return {
      ...base,
      request: async (peer, p, bytes, o) => { used.request++; return await base.request(peer, p, bytes, o) },
      send: async (peer, _p, bytes) => {
        await tick()
        if (old.has(peer)) throw peersError('PEERS_PROTOCOL_UNSUPPORTED', `${peer} does not serve it`)
        const l = listeners.get(peer)
        if (l == null || b.down.has(peer) || b.down.has(self)) throw new Error('unreachable')
        used.channel++
        l(bytes, self)
      },
      listen: async (_p, handler) => { listeners.set(self, handler) }
    }
  }
  const clock = new FakeClock(1_000_000)
  const verify = fakeSignatureVerify()
  const syncs: StateSync[] = []
  for (const id of ['p0', 'p1', 'p2']) {
    // p2 is an older cell: no channel protocol at all.
    const transport = old.has(id) ? b.transport(id) : withChannel(id)
    const s = createStateSync({ transport, signer: fakeSignatureSigner(id), verify, clock, seed: syncs.length + 1, options: { tickMs: 0, channelProtocol: '/organism/t/state/2.0.0' } })
    await s.start()
    syncs.push(s)
  }
  syncs.forEach((s, i) => s.setOwnRecord(body(`cell ${i}`)))
  for (let t = 0; t < 3000; t += 10) { clock.advance(10); for (const s of syncs) s.tick(); await tick(); await tick() }
  for (const s of syncs) assert.deepEqual(s.cells().map((c) => c.record?.body.name).sort(), ['cell 0', 'cell 1', 'cell 2'])
  assert.ok(used.channel > 0, 'p0 and p1 talk on channels')
  assert.ok(used.request > 0, 'p2 gets requests')
})
