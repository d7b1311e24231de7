// bench:forward — requests/s and p99 of a request served by the cell that owns the function (local routing)
// versus one forwarded to it by another cell (over the owner's TLS forwarding port), same run, same function.
import { execFileSync, spawn } from 'node:child_process'
import { TestOrganism } from '../test/helpers/organism.ts'
import { parseWrk } from './lib/wrk.ts'
import type { WrkResult } from './lib/wrk.ts'

const secs = Number(process.env.BENCH_SECONDS ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 20)

function ensureWrk (): void {
  try { execFileSync('wrk', ['--version'], { stdio: 'ignore' }) } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') return // wrk --version exits 1 but exists
    if (process.getuid?.() !== 0) throw new Error('wrk is missing: apt-get install -y wrk')
    execFileSync('apt-get', ['install', '-y', 'wrk'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  }
}

function wrk (port: number, seconds: number): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', '-H', 'Host: catalog.campus.test', `http://127.0.0.1:${port}/courses`], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString() })
    child.on('exit', () => { try { resolve(parseWrk(out)) } catch (err) { reject(err) } })
  })
}

ensureWrk()
const org = await TestOrganism.create()
const stop = async (): Promise<void> => { await org.destroy() }
process.once('SIGINT', () => { void stop().then(() => process.exit(130)) })
try {
  await org.start('owner', 1)
  await org.start('forwarder', 2)
  await org.converged(2)
  const owner = await org.cells[0].status()
  const forwarder = await org.cells[1].status()
  // Warm both paths (JIT, pools, the peer connection), then measure them back to back.
  await wrk(owner.router.port, 2)
  await wrk(forwarder.router.port, 2)
  const local = await wrk(owner.router.port, secs)
  const hop = await wrk(forwarder.router.port, secs)
  const row = (name: string, r: WrkResult): string => `${name.padEnd(22)} ${r.requestsPerSecond.toFixed(0).padStart(8)} ${r.p50Ms.toFixed(2).padStart(8)} ${r.p99Ms.toFixed(2).padStart(8)}   ${r.errors ?? '-'}`
  console.log(`wrk -t2 -c${connections} -d${secs}s --latency, GET /courses on the catalog function (2 cells on loopback)`)
  console.log(`${'path'.padEnd(22)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}   errors`)
  console.log(row('local (owner routes)', local))
  console.log(row('one-hop forward', hop))
  console.log(`forward/local req/s: ${(hop.requestsPerSecond / local.requestsPerSecond).toFixed(2)}; p99 added by the hop: ${(hop.p99Ms - local.p99Ms).toFixed(2)} ms`)
} finally {
  await stop()
}
