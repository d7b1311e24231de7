// bench:move — what clients see while a function with data moves: two real cells on loopback, one reader per cell
// reading forum all along (bounded: one request at a time, 20 ms apart), while forum, with BENCH_DATA_MB of data in
// its data dir, is moved back and forth with `cell move` MOVES times. Run twice in one go: live moves (the genome's
// default: the data goes while forum serves, requests wait only for the changes and the start) and cold moves
// (`moves: { live: false }`: stop, copy, start). Prints, for each, the reads answered and failed, the hold (how long
// requests waited, as the mover measured it) p50/p99 and the slowest read; then live against cold.
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TestOrganism } from '../test/helpers/organism.ts'
import type { TestCell } from '../test/helpers/organism.ts'
import { request, runCli, waitFor } from '../test/helpers/cell-process.ts'

const MOVES = Number(process.env.BENCH_MOVES ?? 6)
const DATA_MB = Number(process.env.BENCH_DATA_MB ?? 200)

interface Run { ok: number, failed: Map<string, number>, slowest: number, holds: number[], moves: number[] }
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0

async function run (live: boolean): Promise<Run> {
  const org = await TestOrganism.create((yaml) => `${yaml}\nmoves: { live: ${live} }\n`)
  const stop = (): void => { void org.destroy().finally(() => process.exit(130)) }
  process.once('SIGINT', stop)
  try {
    const alpha = await org.start('alpha', 1)
    const beta = await org.start('beta', 2)
    await org.converged(2)
    await waitFor('forum has a replica', async () => (await alpha.status()).placements.find((p) => p.fn === 'forum')?.replicaName != null, { tries: 300 })
    // The data: one file per MB, the way attachments pile up.
    for (let i = 0; i < DATA_MB; i++) await writeFile(join(alpha.state, 'functions', 'data', 'forum', `blob-${i}.bin`), randomBytes(1024 * 1024))
    const ports = await Promise.all([alpha, beta].map(async (c) => (await c.status()).router.port))
    const r: Run = { ok: 0, failed: new Map(), slowest: 0, holds: [], moves: [] }
    let reading = true
    const readers = [alpha, beta].map(async (c: TestCell, i) => {
      for (let n = 0; reading && n < 100_000; n++) {
        const t0 = performance.now()
        const res = await request(ports[i], 'forum.campus.test', '/courses/cs101/posts', { address: c.address }).catch((err: Error) => ({ status: 0, body: err.message }))
        r.slowest = Math.max(r.slowest, performance.now() - t0)
        if (res.status === 200) r.ok++; else r.failed.set(String(res.status), (r.failed.get(String(res.status)) ?? 0) + 1)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })
    for (let k = 0; k < MOVES; k++) {
      const to = k % 2 === 0 ? 'beta' : 'alpha'
      const from = to === 'beta' ? alpha : beta
      const t0 = performance.now()
      const m = await runCli(['move', 'forum', '--to', to, '--state', from.state])
      if (m.code !== 0) throw new Error(`move ${k + 1} failed: ${m.stderr}`)
      r.moves.push(performance.now() - t0)
      const held = /requests held (\d+) ms/.exec(m.stdout)
      if (held != null) r.holds.push(Number(held[1]))
      await new Promise((resolve) => setTimeout(resolve, 1500))
    }
    reading = false
    await Promise.all(readers)
    return r
  } finally {
    process.removeListener('SIGINT', stop)
    await org.destroy()
  }
}

const say = (name: string, r: Run): void => {
  const bad = [...r.failed.values()].reduce((a, b) => a + b, 0)
  console.log(`${name}: ${MOVES} moves of forum with ${DATA_MB} MB (median ${(pct(r.moves, 0.5) / 1000).toFixed(2)} s each); reads answered 200: ${r.ok}; failed: ${bad}${bad > 0 ? ` (${[...r.failed].map(([s, n]) => `${n} × ${s === '0' ? 'no answer' : s}`).join(', ')})` : ''} = ${(100 * bad / Math.max(1, r.ok + bad)).toFixed(2)} %`)
  console.log(`${name}: requests held p50 ${pct(r.holds, 0.5)} ms, p99 ${pct(r.holds, 0.99)} ms; slowest read ${(r.slowest / 1000).toFixed(2)} s`)
}
const live = await run(true)
say('live', live)
const cold = await run(false)
say('cold', cold)
console.log(`live / cold: hold p50 ${(pct(live.holds, 0.5) / Math.max(1, pct(cold.holds, 0.5))).toFixed(2)}x, slowest read ${(live.slowest / Math.max(1, cold.slowest)).toFixed(2)}x (goal: 0 failed, hold p99 <= 250 ms)`)
