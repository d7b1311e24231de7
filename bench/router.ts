// Router benchmark: wrk against the upstream directly, through the Organism router, and through nginx, in one run.
//
//   node bench/router.ts            (BENCH_SECONDS=3 BENCH_REPEAT=1 for a quick check; default 10 s x 3 rounds)
//   BENCH_TARGETS=router,nginx      (a subset, e.g. for A/B runs of the router alone; caddy is in the default set when installed)
//   BENCH_TARGETS=router,floor,nginx  (floor: a bare node:http + undici proxy, the stack's own cost; not in the default set)
//   BENCH_WORKERS=2                 (also N router processes on one port vs nginx worker_processes N)
//
// Processes: the upstream and the router each run in their own child process, so the router does not share an
// event loop with the upstream; nginx runs with worker_processes 1 so that it, like the router, uses one core
// (this machine has few cores, shared by wrk, the upstream and the proxy under test).
import { fork, spawn, execFileSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync, rmSync, mkdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, connect } from 'node:net'
import { parseWrk } from './lib/wrk.ts'
import type { WrkResult } from './lib/wrk.ts'

const seconds = Number(process.env.BENCH_SECONDS ?? 10)
// Warm-up before the first round: long enough for V8 to finish optimising the router's hot path even when the shared
// machine is busy (2 s left the JIT compiling during the measurement); nginx and the upstream get the same.
const warmupSeconds = Math.min(5, seconds)
/** Interleaved rounds of the whole trio; the table shows medians. 3 x 10 s x 3 targets is about 100 s. */
const repeat = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3))
/** BENCH_WORKERS=2 adds an N-vs-N comparison (N router processes on one port vs nginx worker_processes N); default off. */
const workers = Math.max(1, Number(process.env.BENCH_WORKERS ?? 1))
const here = import.meta.dirname
const children: ChildProcess[] = []
const tmp = mkdtempSync(join(tmpdir(), 'organism-bench-router-'))

function cleanup (): void {
  // Children run in their own process group (detached), so killing the group also ends nginx's workers.
  for (const c of children) {
    if (c.exitCode != null || c.signalCode != null || c.pid == null) continue
    try { process.kill(-c.pid, 'SIGKILL') } catch { c.kill('SIGKILL') }
  }
  children.length = 0
  rmSync(tmp, { recursive: true, force: true })
}
process.on('exit', cleanup)
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { cleanup(); process.exit(130) })

function have (cmd: string): boolean {
  try { execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }); return true } catch { return false }
}

function ensureTools (): void {
  const missing = ['wrk', 'nginx'].filter((c) => !have(c) && !existsSbin(c))
  if (missing.length === 0) return
  if (process.getuid?.() !== 0) throw new Error(`missing ${missing.join(', ')}; install them (apt-get install -y wrk nginx) or run as root`)
  execFileSync('apt-get', ['install', '-y', 'wrk', 'nginx'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
}

function existsSbin (cmd: string): boolean {
  try { execFileSync('test', ['-x', `/usr/sbin/${cmd}`]); return true } catch { return false }
}

/** Forks a TypeScript child and waits (at most 15 s) for its first IPC message carrying a port. */
async function forkWithPort (file: string, args: string[]): Promise<{ child: ChildProcess, port: number }> {
  const child = fork(join(here, file), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true })
  children.push(child)
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`${file} did not report a port within 15 s`)) }, 15_000)
    child.once('message', (m: { port: number }) => { clearTimeout(timer); resolve(m.port) })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${file} exited with ${String(code)}`)) })
  })
  return { child, port }
}

async function freePort (): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const addr = s.address()
  await new Promise<void>((resolve) => s.close(() => { resolve() }))
  return typeof addr === 'object' && addr != null ? addr.port : 0
}

/** Polls until the port accepts a TCP connection: at most 50 tries, 100 ms apart. */
async function waitForPort (port: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
      s.on('error', () => { resolve(false) })
    })
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after 5 s`)
}

async function startNginx (upstreamPort: number, workers: number): Promise<{ port: number, child: ChildProcess }> {
  const port = await freePort()
  const dir = join(tmp, `nginx-${workers}`)
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'logs']) mkdirSync(join(dir, d), { recursive: true })
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, `daemon off;
worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`)
  const bin = have('nginx') ? 'nginx' : '/usr/sbin/nginx'
  const child = spawn(bin, ['-p', dir, '-c', conf], { stdio: ['ignore', 'inherit', 'inherit'], detached: true })
  children.push(child)
  await waitForPort(port)
  return { port, child }
}

/** Caddy (Debian's `caddy`) as a second peer: reverse_proxy with its default keep-alive pool, one OS thread of Go. */
async function startCaddy (upstreamPort: number): Promise<{ port: number, child: ChildProcess }> {
  const port = await freePort()
  const conf = join(tmp, 'caddy.json')
  writeFileSync(conf, JSON.stringify({
    admin: { disabled: true },
    logging: { logs: { default: { level: 'ERROR' } } },
    apps: { http: { servers: { bench: { listen: [`127.0.0.1:${port}`], routes: [{ handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: `127.0.0.1:${upstreamPort}` }] }] }] } } } }
  }))
  const child = spawn('caddy', ['run', '--config', conf], { stdio: ['ignore', 'ignore', 'inherit'], detached: true, env: { ...process.env, GOMAXPROCS: '1', HOME: tmp, XDG_DATA_HOME: tmp, XDG_CONFIG_HOME: tmp } })
  children.push(child)
  await waitForPort(port)
  return { port, child }
}

/** utime + stime of the processes, in ms, from /proc (Linux). */
function cpuMs (pids: number[]): number {
  let ticks = 0
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch { /* gone */ }
  }
  return ticks * 10 // USER_HZ is 100 on Linux
}

/** nginx's master and its workers (the workers do the proxying). */
function nginxPids (master: ChildProcess): number[] {
  const pid = master.pid ?? 0
  try {
    return [pid, ...readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((x) => x !== '').map(Number)]
  } catch { return [pid] }
}

async function wrk (port: number, secs: number): Promise<WrkResult> {
  const child = spawn('wrk', ['-t2', '-c50', `-d${secs}s`, '--latency', '-H', 'Host: bench.test', `http://127.0.0.1:${port}/`], { stdio: ['ignore', 'pipe', 'inherit'], detached: true })
  children.push(child)
  let out = ''
  child.stdout?.on('data', (c: Buffer) => { out += c.toString() })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  if (code !== 0) throw new Error(`wrk exited with ${String(code)}:\n${out}`)
  return parseWrk(out)
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

interface Row { rps: number, p50: number, p99: number, cpuUs: number, errors: string | null }

async function main (): Promise<void> {
  ensureTools()
  const wanted = (process.env.BENCH_TARGETS ?? `direct,router,nginx${have('caddy') ? ',caddy' : ''}`).split(',')
  if (!have('caddy')) console.log('caddy: not installed (apt-get install -y caddy), left out')
  const upstream = await forkWithPort('lib/router-upstream.ts', [])
  const router = await forkWithPort('lib/router-child.ts', [String(upstream.port)])
  const { port: nginxPort, child: nginx } = await startNginx(upstream.port, 1)
  const all: Array<[string, number]> = [['direct', upstream.port], ['router', router.port], ['nginx', nginxPort]]
  const pids: Record<string, number[]> = { direct: [upstream.child.pid ?? 0], router: [router.child.pid ?? 0], nginx: nginxPids(nginx) }
  if (wanted.includes('caddy')) {
    const caddy = await startCaddy(upstream.port)
    all.push(['caddy', caddy.port])
    pids.caddy = [caddy.child.pid ?? 0]
  }
  if (wanted.includes('floor')) {
    const floor = await forkWithPort('lib/proxy-floor.ts', [String(upstream.port)])
    all.push(['floor', floor.port])
    pids.floor = [floor.child.pid ?? 0]
  }
  if (workers > 1) {
    // N processes each: routers sharing one port through SO_REUSEPORT, nginx with worker_processes N.
    const first = await forkWithPort('lib/router-child.ts', [String(upstream.port), 'reuse'])
    const rest = []
    for (let i = 1; i < workers; i++) rest.push(await forkWithPort('lib/router-child.ts', [String(upstream.port), String(first.port)]))
    const many = await startNginx(upstream.port, workers)
    all.push([`router x${workers}`, first.port], [`nginx x${workers}`, many.port])
    pids[`router x${workers}`] = [first, ...rest].map((r) => r.child.pid ?? 0)
    pids[`nginx x${workers}`] = nginxPids(many.child)
  }
  const targets = all.filter(([name]) => wanted.includes(name.split(' ')[0]))
  const runs = new Map<string, Row[]>(targets.map(([name]) => [name, []]))
  for (let round = 0; round < repeat; round++) {
    // Interleaved rounds: a burst of load from other work on the machine hits all targets alike, not one of them.
    for (const [name, port] of targets) {
      if (round === 0) await wrk(port, warmupSeconds) // warm-up: JIT, connection pools
      const before = cpuMs(pids[name])
      const r = await wrk(port, seconds)
      // CPU per request of the server under test: independent of what else the (shared) machine runs.
      const cpuUs = (cpuMs(pids[name]) - before) * 1000 / (r.requestsPerSecond * seconds)
      runs.get(name)?.push({ rps: r.requestsPerSecond, p50: r.p50Ms, p99: r.p99Ms, cpuUs, errors: r.errors })
    }
  }
  const med = new Map<string, Row>()
  for (const [name, rows] of runs) {
    med.set(name, { rps: median(rows.map((r) => r.rps)), p50: median(rows.map((r) => r.p50)), p99: median(rows.map((r) => r.p99)), cpuUs: median(rows.map((r) => r.cpuUs)), errors: rows.map((r) => r.errors).filter((e) => e != null).join(' | ') || null })
  }
  console.log(`wrk -t2 -c50 -d${seconds}s --latency, ${repeat} interleaved round(s), medians shown (after a ${warmupSeconds}s warm-up each); router and upstream in separate processes; nginx worker_processes 1${workers > 1 ? ` (x${workers}: ${workers} router processes on one port, SO_REUSEPORT, vs nginx worker_processes ${workers})` : ''}`)
  console.log('target      req/s       p50 ms   p99 ms   server CPU us/req   errors')
  for (const [name] of targets) {
    const r = med.get(name) as Row
    console.log(`${name.padEnd(11)} ${r.rps.toFixed(0).padStart(9)}   ${r.p50.toFixed(2).padStart(6)}   ${r.p99.toFixed(2).padStart(6)}   ${r.cpuUs.toFixed(0).padStart(17)}   ${r.errors ?? '-'}`)
  }
  if (repeat > 1) for (const [name, rows] of runs) console.log(`  ${name} per round: req/s ${rows.map((r) => r.rps.toFixed(0)).join(' ')}; CPU us/req ${rows.map((r) => r.cpuUs.toFixed(0)).join(' ')}`)
  const d = med.get('direct')
  const ro = med.get('router')
  const ng = med.get('nginx')
  if (ro != null && ng != null) {
    // Ratios per round (same moment of machine load), then the median of those.
    const ratios = (runs.get('router') ?? []).map((r, i) => r.rps / (runs.get('nginx') ?? [])[i].rps)
    console.log(`1 vs 1 process, router/nginx req/s: ${median(ratios).toFixed(2)}  (target >= 0.80);  router/nginx CPU per request: ${(ro.cpuUs / ng.cpuUs).toFixed(2)}`)
  }
  const roN = med.get(`router x${workers}`)
  const ngN = med.get(`nginx x${workers}`)
  if (roN != null && ngN != null) {
    const ratios = (runs.get(`router x${workers}`) ?? []).map((r, i) => r.rps / (runs.get(`nginx x${workers}`) ?? [])[i].rps)
    console.log(`${workers} vs ${workers} processes, router x${workers}/nginx x${workers} req/s: ${median(ratios).toFixed(2)};  CPU per request: ${(roN.cpuUs / ngN.cpuUs).toFixed(2)}  (bench only: each router process keeps its own metrics)`)
  }
  const ca = med.get('caddy')
  if (ro != null && ca != null) {
    const ratios = (runs.get('router') ?? []).map((r, i) => r.rps / (runs.get('caddy') ?? [])[i].rps)
    console.log(`router/caddy req/s: ${median(ratios).toFixed(2)};  router/caddy CPU per request: ${(ro.cpuUs / ca.cpuUs).toFixed(2)}  (caddy with GOMAXPROCS=1)`)
  }
  if (ro != null && d != null) console.log(`router p99 - direct p99: ${(ro.p99 - d.p99).toFixed(2)} ms  (target <= 1 ms)`)
  if (ng != null && d != null) console.log(`nginx p99 - direct p99: ${(ng.p99 - d.p99).toFixed(2)} ms`)
}

try {
  await main()
} catch (err) {
  console.error(err instanceof Error ? err.message : err)
  process.exitCode = 1
} finally {
  cleanup()
}
