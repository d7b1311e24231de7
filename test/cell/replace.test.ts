// Replacing a quarantined cell: who acts and when (pure), and the loop on fake time with a real state file.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FakeClock } from '../../src/core/clock.ts'
import { replacementFor, createReplacer, RETRY_AFTER_MS } from '../../src/cell/replace.ts'
import type { ReplaceView } from '../../src/cell/replace.ts'

const MIN = 60_000
const view = (over: Partial<ReplaceView> & { quarantined?: Record<string, number> }): ReplaceView => ({
  self: 'b',
  selfTrusted: true,
  cells: ['a', 'b', 'c'].map((peer) => ({ peer, liveness: 'alive' })),
  quarantinedFor: (p) => over.quarantined?.[p] ?? null,
  distrusted: (p) => over.quarantined?.[p] != null,
  afterMs: 10 * MIN,
  done: new Set(),
  ...over
})

test('the trusted live member with the lowest id replaces a cell quarantined past the bound, and no other', () => {
  assert.deepEqual(replacementFor(view({ quarantined: { a: 3 * MIN } })), { kind: 'wait', peer: 'a', leftMs: 7 * MIN })
  // a is quarantined, so b (the lowest trusted id) acts; c sees the same and leaves it to b.
  assert.deepEqual(replacementFor(view({ quarantined: { a: 11 * MIN } })), { kind: 'replace', peer: 'a', forMs: 11 * MIN })
  assert.deepEqual(replacementFor(view({ self: 'c', quarantined: { a: 11 * MIN } })), { kind: 'elsewhere', peer: 'a', by: 'b' })
  // b dead: c acts.
  const cells = [{ peer: 'a', liveness: 'alive' }, { peer: 'b', liveness: 'dead' }, { peer: 'c', liveness: 'alive' }]
  assert.equal(replacementFor(view({ self: 'c', cells, quarantined: { a: 11 * MIN } })).kind, 'replace')
  // The longest quarantined first.
  assert.deepEqual(replacementFor(view({ self: 'b', quarantined: { a: 11 * MIN, c: 20 * MIN } })), { kind: 'replace', peer: 'c', forMs: 20 * MIN })
})

test('no replacement: the genome says never, the cell is not quarantined, it died, it was replaced, or this cell cannot heal itself', () => {
  assert.deepEqual(replacementFor(view({ afterMs: null, quarantined: { a: 60 * MIN } })), { kind: 'none' })
  assert.deepEqual(replacementFor(view({})), { kind: 'none' })
  const cells = [{ peer: 'a', liveness: 'dead' }, { peer: 'b', liveness: 'alive' }]
  assert.deepEqual(replacementFor(view({ cells, quarantined: { a: 60 * MIN } })), { kind: 'none' })
  assert.deepEqual(replacementFor(view({ done: new Set(['a']), quarantined: { a: 60 * MIN } })), { kind: 'none' })
  // b's own files differ: c (trusted) acts, and a lone untrusted cell acts for no one.
  assert.deepEqual(replacementFor(view({ selfTrusted: false, quarantined: { a: 60 * MIN } })), { kind: 'elsewhere', peer: 'a', by: 'c' })
  assert.deepEqual(replacementFor(view({ selfTrusted: false, cells: [{ peer: 'a', liveness: 'alive' }, { peer: 'b', liveness: 'alive' }], quarantined: { a: 60 * MIN } })), { kind: 'none' })
})

/** Lets the replacer's async tick run after a fake-time step (it writes a real file): until cond holds, bounded. */
const settle = async (cond: () => boolean = () => false): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((resolve) => setTimeout(resolve, 5))
}

test('the loop imprints once, keeps what it replaced across a restart, says once that the pool is empty, and retries a failure later', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'organism-replace-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const clock = new FakeClock(1_000_000)
  const notes: string[] = []
  const imprints: string[] = []
  let pool: Array<string | Error | null> = []
  const make = () => createReplacer({
    file: join(dir, 'replaced.json'),
    clock,
    view: () => ({ self: 'b', selfTrusted: true, cells: [{ peer: 'a', liveness: 'alive' }, { peer: 'b', liveness: 'alive' }], quarantinedFor: (p) => p === 'a' ? 11 * MIN : null, distrusted: (p) => p === 'a', afterMs: 10 * MIN }),
    nameOf: (p) => `cell-${p}`,
    note: (e) => { notes.push(e.text) },
    imprint: async (peer) => {
      imprints.push(peer)
      const next = pool.shift() ?? null
      if (next instanceof Error) throw next
      return next
    }
  })
  pool = [null, new Error('ssh: connect to host 10.0.0.9 port 22: No route to host'), 'c-10-0-0-9']
  let r = make()
  await r.start()
  clock.advance(1_000); await settle(() => notes.length > 0)
  clock.advance(1_000); await settle(() => imprints.length > 1)
  assert.deepEqual(imprints, ['a'], 'no free host: not asked again at once')
  assert.deepEqual(notes, ['cell-a has been quarantined for 660 s, but the host pool has no free host to take its place (add one with `cell hosts add`)'])
  clock.advance(RETRY_AFTER_MS); await settle(() => notes.length > 1)
  assert.deepEqual(imprints, ['a', 'a'])
  assert.match(notes.at(-1) ?? '', /could not replace cell-a: ssh: connect to host 10\.0\.0\.9 port 22: No route to host; trying again in 60 s/)
  clock.advance(RETRY_AFTER_MS); await settle(() => notes.length > 2)
  assert.equal(notes.at(-1), 'c-10-0-0-9 took the place of cell-a (cell-a has been quarantined for 660 s)')
  clock.advance(10_000); await settle(() => imprints.length > 3)
  assert.equal(imprints.length, 3, 'replaced once')
  await r.stop()
  assert.equal(JSON.parse(await readFile(join(dir, 'replaced.json'), 'utf8'))[0].peer, 'a')
  // A restart reads what it replaced: no second host for the same cell.
  r = make()
  await r.start()
  clock.advance(5_000); await settle(() => imprints.length > 3)
  assert.equal(imprints.length, 3)
  await r.stop()
})
