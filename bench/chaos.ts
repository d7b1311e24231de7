// `npm run chaos [-- --minutes M --cells N --seed S]`: seeded chaos runs of whole simulated control planes, one seed
// after another for M minutes (default 5): moves, kills, restarts, cut links, partitions. Stops at the first seed whose
// history has an epoch with two owners, and prints it to rerun (SIM_SEED=S in the test, or --seed S here).
// `npm run chaos -- --lab [--minutes M --faults F --seed S]` (root): the Jepsen-style run on lab hosts instead, one
// seed after another, F faults each (default 12); stops at the first seed that loses an acknowledged write or has two
// writers in one epoch (JEPSEN_SEED=S in test/organism/jepsen.test.ts, or --seed S here).
import { parseArgs } from 'node:util'
import { setLogSink } from '../src/core/log.ts'
import { runChaos } from '../test/sim/workload.ts'

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '5' }, cells: { type: 'string', default: '100' }, seed: { type: 'string' }, lab: { type: 'boolean' }, faults: { type: 'string', default: '12' } } })
setLogSink(() => {})
if (values.lab === true) {
  const { labChaos } = await import('./lib/lab-chaos.ts')
  process.exit(await labChaos(Number(values.minutes), Number(values.faults), values.seed != null ? Number(values.seed) : null))
}
const minutes = Number(values.minutes)
const n = Number(values.cells)
if (!(minutes > 0) || !(n >= 3)) throw new Error('--minutes must be > 0 and --cells at least 3')
const deadline = Date.now() + minutes * 60_000
let seed = values.seed != null ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31)
let runs = 0
let claims = 0
for (;;) {
  const r = await runChaos({ n, functions: 8, seed, chaosMs: 60_000 })
  runs++
  claims += r.claims
  console.log(`seed ${seed}: ${JSON.stringify(r.ops)} moves ${r.moves.ok}/${r.moves.ok + r.moves.failed} done, ${r.claims} claims, agreed ${r.agreed}/8, moving ${r.stuckMoving}, ${(r.wallMs / 1000).toFixed(1)} s`)
  if (r.violations.length > 0) {
    console.log(`VIOLATION with seed ${seed}: ${JSON.stringify(r.violations)}`)
    process.exitCode = 1
    break
  }
  if (values.seed != null || Date.now() >= deadline) break
  seed = (seed * 1103515245 + 12345) % 2 ** 31
}
console.log(`${runs} runs, ${claims} claims, ${process.exitCode === 1 ? 'one owner per epoch broken' : 'one owner per epoch held in every run'}`)
