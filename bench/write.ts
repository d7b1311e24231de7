// bench:write — what sync replication adds to a write: two real cells on loopback, sequential 1 KiB PUTs to the
// media function through its owner, once with `replicas: 1` (no replica) and once with the default (replicas: 2,
// durability: sync), in the same run; p50/p99 of each and the difference. Then the same for `durability: async`.
import { TestOrganism } from '../test/helpers/organism.ts'
import { request, waitFor } from '../test/helpers/cell-process.ts'

const WRITES = Number(process.env.BENCH_WRITES ?? 300)
const WARMUP = 30
const body = 'x'.repeat(1024)

const media = (extra: string) => (yaml: string): string => yaml.replace(/(  media:\n(?: {4}.*\n)*? {4}stateful: true\n)/, `$1${extra}`)

function pct (xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]
}

async function measure (label: string, edit: (yaml: string) => string, replicated: boolean): Promise<{ p50: number, p99: number }> {
  const org = await TestOrganism.create(edit)
  try {
    const alpha = await org.start('alpha', 1)
    await org.start('beta', 2)
    await org.converged(2)
    if (replicated) await waitFor('media has a replica', async () => (await alpha.status()).placements.find((p) => p.fn === 'media')?.replicaName != null, { tries: 200 })
    const port = (await alpha.status()).router.port
    const times: number[] = []
    for (let i = 0; i < WARMUP + WRITES; i++) {
      const t0 = process.hrtime.bigint()
      const r = await request(port, 'media.campus.test', `/files/w${i}.txt`, { method: 'PUT', body, headers: { 'content-type': 'text/plain' }, address: alpha.address })
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      if (r.status < 200 || r.status >= 300) throw new Error(`${label}: write ${i} answered ${r.status}: ${r.body}`)
      if (i >= WARMUP) times.push(ms)
    }
    const s = await alpha.status()
    const rep = s.functions.find((f) => f.name === 'media')?.replication
    const out = { p50: pct(times, 0.5), p99: pct(times, 0.99) }
    console.log(`${label.padEnd(28)} p50 ${out.p50.toFixed(2)} ms  p99 ${out.p99.toFixed(2)} ms  (${WRITES} writes; replica ${rep?.replica ?? 'none'}, ${rep?.state ?? '-'})`)
    return out
  } finally {
    await org.destroy()
  }
}

const none = await measure('no replica (replicas: 1)', media('    replicas: 1\n'), false)
const sync = await measure('sync replica (default)', (y) => y, true)
const async = await measure('async replica', media('    durability: async\n'), true)
console.log(`added by sync replication: p50 +${(sync.p50 - none.p50).toFixed(2)} ms (×${(sync.p50 / none.p50).toFixed(2)}), p99 +${(sync.p99 - none.p99).toFixed(2)} ms (goal: ≤ 2 ms at p50)`)
console.log(`added by async replication: p50 +${(async.p50 - none.p50).toFixed(2)} ms`)
