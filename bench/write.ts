// bench:write — what sync replication adds to a write: two real cells on loopback, sequential writes through the
// function's owner, once with `replicas: 1` (no replica) and once with the default (replicas: 2, durability: sync),
// in the same run; p50/p99 of each and the difference; then `durability: async`. Two kinds of data dir:
//   forum — one JSON document rewritten (temp file + rename) per post: a data dir of a few files;
//   media — a new 1 KiB file per PUT: by the end a data dir of hundreds of files, each batch scanning them all.
import { TestOrganism } from '../test/helpers/organism.ts'
import { request, waitFor } from '../test/helpers/cell-process.ts'

const WRITES = Number(process.env.BENCH_WRITES ?? 300)
const WARMUP = 30

interface Workload { fn: string, host: string, write: (i: number) => { path: string, method: string, body: string, headers: Record<string, string> } }
const forum: Workload = { fn: 'forum', host: 'forum.campus.test', write: (i) => ({ path: '/courses/cs101/posts', method: 'POST', body: JSON.stringify({ author: 'bench', text: `post ${i}` }), headers: { 'content-type': 'application/json' } }) }
const media: Workload = { fn: 'media', host: 'media.campus.test', write: (i) => ({ path: `/files/w${i}.txt`, method: 'PUT', body: 'x'.repeat(1024), headers: { 'content-type': 'text/plain' } }) }

/** Adds a line to fn's entry in organism.yaml. */
const field = (fn: string, line: string) => (yaml: string): string => yaml.replace(new RegExp(`(  ${fn}:\\n(?: {4}.*\\n)*? {4}stateful: true\\n)`), `$1    ${line}\n`)

function pct (xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]
}

async function measure (w: Workload, label: string, edit: (yaml: string) => string, replicated: boolean): Promise<{ p50: number, p99: number }> {
  const org = await TestOrganism.create(edit)
  try {
    const alpha = await org.start('alpha', 1)
    await org.start('beta', 2)
    await org.converged(2)
    if (replicated) await waitFor(`${w.fn} has a replica`, async () => (await alpha.status()).placements.find((p) => p.fn === w.fn)?.replicaName != null, { tries: 200 })
    const port = (await alpha.status()).router.port
    const times: number[] = []
    for (let i = 0; i < WARMUP + WRITES; i++) {
      const { path, ...opts } = w.write(i)
      const t0 = process.hrtime.bigint()
      const r = await request(port, w.host, path, { ...opts, address: alpha.address })
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      if (r.status < 200 || r.status >= 300) throw new Error(`${label}: write ${i} answered ${r.status}: ${r.body}`)
      if (i >= WARMUP) times.push(ms)
    }
    const rep = (await alpha.status()).functions.find((f) => f.name === w.fn)?.replication
    const out = { p50: pct(times, 0.5), p99: pct(times, 0.99) }
    console.log(`${w.fn} ${label.padEnd(26)} p50 ${out.p50.toFixed(2)} ms  p99 ${out.p99.toFixed(2)} ms  (${WRITES} writes; replica ${rep?.replica ?? 'none'}, ${rep?.state ?? '-'})`)
    return out
  } finally {
    await org.destroy()
  }
}

for (const w of [forum, media]) {
  const none = await measure(w, 'no replica (replicas: 1)', field(w.fn, 'replicas: 1'), false)
  const sync = await measure(w, 'sync replica (default)', (y) => y, true)
  const async = await measure(w, 'async replica', field(w.fn, 'durability: async'), true)
  console.log(`${w.fn}: added by sync replication p50 +${(sync.p50 - none.p50).toFixed(2)} ms (×${(sync.p50 / none.p50).toFixed(2)}), p99 +${(sync.p99 - none.p99).toFixed(2)} ms (goal: ≤ 2 ms at p50); by async p50 +${(async.p50 - none.p50).toFixed(2)} ms`)
}
