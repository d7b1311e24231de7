// A member that lies, against whole simulated control planes: it pushes a move stream at an owner, completes a
// hand-off nobody made, or takes a function whose owner is alive. Each is refused; the owner keeps serving and keeps
// its data.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setLogSink } from '../../src/core/log.ts'
import { protocols } from '../../src/organism/index.ts'
import { FRAME, readFrames, writeJson, nextJson } from '../../src/migrate/index.ts'
import { isOrganismError } from '../../src/core/errors.ts'
import { SimCells } from './cells.ts'

setLogSink(() => {})

async function organism (): Promise<{ sim: SimCells, owner: string, mallory: string }> {
  const sim = new SimCells({ n: 4, functions: ['forum'], seed: 9, loss: 0 })
  await sim.start()
  await sim.time.runUntil(2000)
  const owner = sim.ids[0]
  sim.cells.get(owner)!.host.write('forum', 1)
  return { sim, owner, mallory: sim.ids[3] }
}

test('a move stream pushed at the owner is refused before its data dir is touched', async () => {
  const { sim, owner, mallory } = await organism()
  // Mallory's process speaks the move protocol by hand (its own link endpoint, as a tampered cell would).
  const link = sim.net.link(mallory)
  const push = (async () => {
    const stream = await link.openStream(owner, protocols('sim').moveV2)
    const frames = readFrames(stream)[Symbol.asyncIterator]()
    await writeJson(stream, FRAME.header, { fn: 'forum', epoch: 1, from: mallory })
    await writeJson(stream, FRAME.data, [666])
    return await nextJson(frames, FRAME.result, 'result') as { ok: boolean, code?: string, message?: string }
  })()
  await sim.time.runUntil(2500)
  const result = await sim.time.until(push)
  assert.equal(result.ok, false)
  assert.match(result.message ?? '', /does not hand forum/)
  const host = sim.cells.get(owner)!.host
  assert.deepEqual(host.data.get(host.dataDir('forum')), [1], 'the owner\'s data is untouched')
  assert.equal(host.running('forum'), true, 'and it still serves')
  assert.equal(sim.ownerAt(owner, 'forum')?.owner, owner)
})

test('a member cannot complete a hand-off nobody made, nor take over from a live owner', async () => {
  const { sim, owner, mallory } = await organism()
  const m = sim.cells.get(mallory)!.organism
  const refused = async (p: Promise<unknown>): Promise<string> => await p.then(() => 'applied', (err: unknown) => isOrganismError(err, 'OWNERSHIP_REFUSED') ? (err.details as { why: string }).why : String(err))
  const tries = Promise.all([
    refused(m.change('forum', { kind: 'complete', by: mallory, from: owner, epoch: 1 })),
    refused(m.change('forum', { kind: 'takeover', by: mallory, epoch: 1 })),
    refused(m.change('forum', { kind: 'handoff', by: mallory, epoch: 2 ** 53 - 1, to: mallory }))
  ])
  await sim.time.runUntil(3000)
  assert.deepEqual(await tries, ['not-owner', 'owner-alive', 'conflict'], 'epoch + 1 without a hand-off, a takeover of a live owner, an epoch out of thin air')
  assert.deepEqual(sim.history.violations, [])
  for (const c of sim.alive()) assert.equal(sim.ownerAt(c.id, 'forum')?.owner, owner, `${c.id} still routes forum to its owner`)
  assert.equal(sim.cells.get(owner)!.host.running('forum'), true)
})

test('a placement record a member gossips, signed by itself at a huge epoch, moves nothing and is not news on the map', async () => {
  const { sim, owner, mallory } = await organism()
  const { signRecord, fakeSignatureSigner, encodeWire } = await import('../../src/state/index.ts')
  const rec = signRecord(fakeSignatureSigner(mallory), 'placement/forum', 1, { kind: 'placement', fn: 'forum', owner: mallory, epoch: 2 ** 53 - 1, state: 'serving' })
  const link = sim.net.link(mallory)
  for (const to of sim.ids.slice(0, 3)) void link.send(to, protocols('sim').stateChannel, encodeWire({ t: 'push', recs: [rec] })).catch(() => {})
  await sim.time.runUntil(3000)
  for (const c of sim.alive()) {
    assert.equal(c.organism.plan().route('forum').kind === 'local' ? c.id : (c.organism.plan().route('forum') as { cell?: string }).cell, owner, `${c.id} still routes forum to its owner`)
    assert.ok(!c.organism.events().some((e) => e.text.includes(mallory.slice(-8)) && /forum/.test(e.text)), `${c.id}'s map shows no move of forum to the liar`)
  }
  assert.equal(sim.cells.get(owner)!.host.running('forum'), true)
})

test('a move request from a member to itself, or a forced takeover it asks for, is refused without the operator\'s signature', async () => {
  const { sim, owner, mallory } = await organism()
  const link = sim.net.link(mallory)
  const ask = (body: unknown, to: string): Promise<string> => link.request(to, protocols('sim').moveRequest, new TextEncoder().encode(JSON.stringify(body)))
    .then(() => 'obeyed', (err: Error) => err.message)
  const forged = { payload: JSON.stringify({ fn: 'forum', to: mallory, force: false }), signature: 'made up' }
  const answers = Promise.all([
    ask({ fn: 'forum', to: mallory }, owner),
    ask({ fn: 'forum', to: mallory, signed: forged }, owner),
    ask({ fn: 'forum', to: sim.ids[1], force: true }, sim.ids[1])
  ])
  await sim.time.runUntil(3000)
  for (const a of await sim.time.until(answers)) assert.match(a, /refused: not signed by the operator/)
  const host = sim.cells.get(owner)!.host
  assert.deepEqual(host.data.get(host.dataDir('forum')), [1], 'the owner keeps its data')
  assert.equal(host.running('forum'), true, 'and serves')
  for (const c of sim.alive()) assert.equal(sim.ownerAt(c.id, 'forum')?.owner, owner)
  // A request the operator signed is obeyed, whoever carries it: the owner hands forum to the cell it names.
  const to = sim.ids[2]
  const signed = (await import('./host.ts')).fakeOperatorSigned({ fn: 'forum', to, force: false })
  const obeyed = ask({ fn: 'forum', to, signed }, owner)
  await sim.time.runUntil(6000)
  assert.equal(await sim.time.until(obeyed), 'obeyed')
  assert.equal(sim.ownerAt(owner, 'forum')?.owner, to)
})
