// The Jepsen-style check on lab hosts, short (CI): clients write unique records through random cells while an owner
// is killed -9, a host is cut off and healed, a cell is frozen with SIGSTOP for 3 s, and every cell is killed and
// started again at once. At the end every function is served through every cell, every acknowledged write is
// there, and no epoch of a function had two cells acknowledging writes. The seed is printed; JEPSEN_SEED repeats a
// run, and `npm run chaos -- --lab --minutes N` runs many.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runLabChaos } from '../helpers/jepsen.ts'

const root = process.getuid?.() === 0

test('a seeded run of faults loses no acknowledged write and never has two writers in one epoch', { skip: !root && 'network namespaces need root' }, async (t) => {
  const seed = Number(process.env.JEPSEN_SEED ?? Math.floor(Math.random() * 1_000_000))
  t.diagnostic(`seed ${seed} (JEPSEN_SEED=${seed} repeats this run)`)
  const r = await runLabChaos({ seed, faults: 5, log: (line) => { t.diagnostic(line) } })
  t.diagnostic(`${r.acknowledged} writes acknowledged, ${r.unacknowledged} not, in ${(r.ms / 1000).toFixed(0)} s: ${r.faults.join('; ')}`)
  assert.deepEqual(r.splitEpochs, [], `seed ${seed}: two cells acknowledged writes in one epoch`)
  assert.deepEqual(r.lost.map((l) => `${l.op.fn} ${l.op.id} (acknowledged by ${l.op.served ?? '?'} via ${l.op.via}) missing at ${l.missingAt.join(',')}`), [], `seed ${seed}: acknowledged writes lost`)
  assert.ok(r.acknowledged > 50, `seed ${seed}: the clients got writes through (${r.acknowledged})`)
})
