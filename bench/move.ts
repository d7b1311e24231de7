// bench:move — what clients see while a function moves: two real cells on loopback, one reader per cell reading
// forum all along (bounded: one request at a time, 20 ms apart), while forum is moved back and forth with
// `cell move` MOVES times. Prints the reads answered, those that failed (any status but
// 200, or no answer), and the slowest read (a held request waits for the move to finish).
import { TestOrganism } from '../test/helpers/organism.ts'
import { request, runCli, waitFor } from '../test/helpers/cell-process.ts'

const MOVES = Number(process.env.BENCH_MOVES ?? 6)

const org = await TestOrganism.create()
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { void org.destroy().finally(() => process.exit(130)) })
try {
  const alpha = await org.start('alpha', 1)
  const beta = await org.start('beta', 2)
  await org.converged(2)
  await waitFor('forum has a replica', async () => (await alpha.status()).placements.find((p) => p.fn === 'forum')?.replicaName != null, { tries: 300 })
  const ports = await Promise.all([alpha, beta].map(async (c) => (await c.status()).router.port))
  let reading = true
  let ok = 0
  const failed = new Map<string, number>()
  let slowest = 0
  const readers = [alpha, beta].map(async (c, i) => {
    for (let n = 0; reading && n < 100_000; n++) {
      const t0 = performance.now()
      const r = await request(ports[i], 'forum.campus.test', '/courses/cs101/posts', { address: c.address }).catch((err: Error) => ({ status: 0, body: err.message }))
      slowest = Math.max(slowest, performance.now() - t0)
      if (r.status === 200) ok++; else failed.set(String(r.status), (failed.get(String(r.status)) ?? 0) + 1)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })
  const moveTimes: number[] = []
  for (let k = 0; k < MOVES; k++) {
    const to = k % 2 === 0 ? 'beta' : 'alpha'
    const from = to === 'beta' ? alpha : beta
    const t0 = performance.now()
    const r = await runCli(['move', 'forum', '--to', to, '--state', from.state])
    if (r.code !== 0) throw new Error(`move ${k + 1} failed: ${r.stderr}`)
    moveTimes.push(performance.now() - t0)
    await new Promise((resolve) => setTimeout(resolve, 1500))
  }
  reading = false
  await Promise.all(readers)
  const bad = [...failed.values()].reduce((a, b) => a + b, 0)
  console.log(`${MOVES} moves of forum (median ${(moveTimes.sort((a, b) => a - b)[Math.floor(MOVES / 2)] / 1000).toFixed(2)} s each) under reads through both cells:`)
  console.log(`reads answered 200: ${ok}; failed: ${bad}${bad > 0 ? ` (${[...failed].map(([s, n]) => `${n} × ${s === '0' ? 'no answer' : s}`).join(', ')})` : ''} = ${(100 * bad / Math.max(1, ok + bad)).toFixed(2)} %; slowest read ${(slowest / 1000).toFixed(2)} s`)
} finally {
  await org.destroy()
}
