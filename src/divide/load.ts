// The load generator: an open-loop stream of requests at a steady rate to one function, through a cell's router.
import http from 'node:http'

export interface LoadOptions {
  /** The router to send to, e.g. http://127.0.0.1:8080. */
  readonly router: URL
  /** The function's domain, sent as the Host header. */
  readonly host: string
  readonly rps: number
  readonly seconds: number
  /** Distinct session cookies to cycle through (0: send none). */
  readonly users: number
  readonly path: string
  /** Requests in flight at most; a request due while at the bound is skipped, not queued (open loop). */
  readonly maxInFlight?: number
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
  /** Called about once a second with the figures so far. */
  readonly onTick?: (report: LoadReport) => void
}

export interface LoadReport {
  readonly elapsedS: number
  readonly sent: number
  /** Answered with a status below 400. */
  readonly ok: number
  /** Not sent because maxInFlight requests were already waiting. */
  readonly skipped: number
  /** Failures by status code or error name ("503", "ECONNREFUSED", "timeout"). */
  readonly errors: Readonly<Record<string, number>>
  /** Requests answered (any status) per second since the start. */
  readonly achievedRps: number
  readonly p50Ms: number
  readonly p99Ms: number
}

/** Hard caps, so that a typo cannot start an hour-long flood. */
export const MAX_SECONDS = 600
export const MAX_RPS = 100_000
export const DEFAULT_MAX_IN_FLIGHT = 256

/** Latencies on a log scale (about 2 % wide buckets): exact enough for p50/p99, constant memory for any run. */
class Histogram {
  private readonly counts = new Float64Array(600)
  total = 0
  add (ms: number): void {
    const i = Math.max(0, Math.min(this.counts.length - 1, Math.floor(Math.log10(Math.max(ms, 0.01) / 0.01) * 100)))
    this.counts[i]++
    this.total++
  }

  quantile (q: number): number {
    if (this.total === 0) return 0
    const want = q * this.total
    let seen = 0
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]
      if (seen >= want) return 0.01 * 10 ** ((i + 0.5) / 100)
    }
    return 0
  }
}

export async function runLoad (opts: LoadOptions): Promise<LoadReport> {
  const seconds = Math.min(Math.max(opts.seconds, 0), MAX_SECONDS)
  const rps = Math.min(Math.max(opts.rps, 0), MAX_RPS)
  const maxInFlight = opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT
  const timeoutMs = opts.timeoutMs ?? 10_000
  const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight })
  const hist = new Histogram()
  const errors: Record<string, number> = {}
  let sent = 0; let ok = 0; let answered = 0; let skipped = 0; let inFlight = 0
  const start = performance.now()
  const total = Math.floor(rps * seconds)
  let drained: (() => void) | null = null

  const fail = (key: string): void => { errors[key] = (errors[key] ?? 0) + 1 }
  const report = (): LoadReport => {
    const elapsedS = (performance.now() - start) / 1000
    return { elapsedS, sent, ok, skipped, errors: { ...errors }, achievedRps: elapsedS > 0 ? answered / elapsedS : 0, p50Ms: hist.quantile(0.5), p99Ms: hist.quantile(0.99) }
  }

  const fire = (i: number): void => {
    sent++; inFlight++
    const headers: Record<string, string> = { host: opts.host, 'user-agent': 'organism-load' }
    // The router counts a user by session cookie, so cycling cookies makes U distinct users from one address.
    if (opts.users > 0) headers.cookie = `session=load-user-${i % opts.users}`
    const t0 = performance.now()
    let done = false
    const finish = (key: string | null, status: number): void => {
      if (done) return
      done = true; inFlight--
      if (status > 0) { answered++; hist.add(performance.now() - t0) }
      if (key == null) ok++; else fail(key)
      if (inFlight === 0 && drained != null) drained()
    }
    const req = http.request({ host: opts.router.hostname, port: opts.router.port || 80, path: opts.path, method: 'GET', headers, agent, timeout: timeoutMs }, (res) => {
      const status = res.statusCode ?? 0
      res.resume()
      res.on('end', () => finish(status < 400 ? null : String(status), status))
      res.on('error', () => finish('aborted', status))
    })
    req.on('timeout', () => { req.destroy(); finish('timeout', 0) })
    req.on('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.name, 0))
    req.end()
  }

  // Open loop: request i is due at start + i / rps whatever became of the earlier ones, so a slow server sees the same rate.
  let next = 0
  let lastTick = start
  await new Promise<void>((resolve) => {
    const step = (): void => {
      const now = performance.now()
      const stop = opts.signal?.aborted === true || now - start >= seconds * 1000
      const due = stop ? total : Math.min(total, Math.floor((now - start) / 1000 * rps) + 1)
      if (!stop) {
        for (; next < due; next++) {
          if (inFlight >= maxInFlight) skipped++
          else fire(next)
        }
      }
      if (opts.onTick != null && now - lastTick >= 1000) { lastTick = now; opts.onTick(report()) }
      if (stop || next >= total) { resolve(); return }
      const wait = Math.max(1, Math.min(20, start + (next / rps) * 1000 - now))
      setTimeout(step, wait)
    }
    step()
  })

  // Let the requests already sent finish (each is bounded by its own timeout).
  if (inFlight > 0) await new Promise<void>((resolve) => { drained = resolve })
  agent.destroy()
  return report()
}

/** One line for the terminal, once a second. */
export function formatReport (r: LoadReport): string {
  const errs = Object.entries(r.errors).sort().map(([k, v]) => `${k}×${v}`).join(' ')
  return `${r.elapsedS.toFixed(0).padStart(3)} s  sent ${r.sent}  ok ${r.ok}  errors ${errs === '' ? '0' : errs}` +
    `${r.skipped > 0 ? `  skipped ${r.skipped}` : ''}  ${r.achievedRps.toFixed(1)} req/s  p50 ${r.p50Ms.toFixed(1)} ms  p99 ${r.p99Ms.toFixed(1)} ms`
}

/** Most requests failed (or none was sent): the run proves nothing about the limit. */
export function mostlyFailed (r: LoadReport): boolean {
  return r.sent + r.skipped === 0 || r.ok * 2 < r.sent + r.skipped
}
