// The cell's local API on loopback: status, Prometheus metrics, logs and stop for the CLI and for scrapers.
import http from 'node:http'
import { timingSafeEqual } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { formatPrometheus } from '../core/prometheus.ts'
import { toWireError } from '../core/errors.ts'
import type { Startable } from '../core/lifecycle.ts'
import type { Supervisor } from '../supervisor/index.ts'
import type { Router } from '../router/index.ts'
import type { CellStatus } from './status.ts'
import { cellError } from './errors.ts'
import type { Signed } from '../migrate/index.ts'
import { supervisorError } from '../supervisor/index.ts'

export interface LocalApi extends Startable {
  readonly port: number
}

export interface LocalApiOptions {
  port: number
  token: string
  /** Serve /metrics without the token (`cell start --metrics-open`, for a scraper that cannot send one). */
  metricsOpen?: boolean
  status: () => CellStatus
  supervisor: Supervisor
  router: Router
  /** A one-time join token for a new cell. */
  admit: (ttlMs: number) => string
  /** An operator's signed expulsion of a member: checked, applied here and spread to every member. */
  expel: (signed: Signed) => Promise<{ removed: string[], admitted: string[] }>
  move: (fn: string, to: string, force: boolean, signed: Signed | undefined) => Promise<unknown>
  /** One division onto a pool host; progress lines go to `progress` as they happen. */
  divide: (hostUrl: string, fn: string | null, identity: string | null, progress: (line: string) => void) => Promise<unknown>
  /** `cell update`: a commit of this cell's genome repo, verified here and offered to every member. */
  update?: (ref: string) => Promise<unknown>
  onStop: () => void
}

const LOCAL_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/i

function reply (res: http.ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = type === 'application/json' ? JSON.stringify(body, null, 2) + '\n' : String(body)
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
  res.end(text)
}

export function createLocalApi (opts: LocalApiOptions): LocalApi {
  const expected = Buffer.from(`Bearer ${opts.token}`)
  const authorized = (req: http.IncomingMessage): boolean => {
    const got = Buffer.from(req.headers.authorization ?? '')
    return got.length === expected.length && timingSafeEqual(got, expected)
  }
  const logs = new Set<AbortController>()

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local')
    // A page elsewhere that got a name of its resolved to 127.0.0.1 (DNS rebinding) still sends its own Host.
    if (!LOCAL_HOST.test(req.headers.host ?? '')) return reply(res, 421, cellError('CELL_API_BAD_HOST', `the local API answers only to Host 127.0.0.1, localhost or [::1], not ${JSON.stringify((req.headers.host ?? '').slice(0, 100))}`).toJSON())
    if (req.method === 'GET' && url.pathname === '/metrics' && opts.metricsOpen === true) {
      return reply(res, 200, formatPrometheus([...opts.supervisor.metrics(), ...opts.router.metrics()]), 'text/plain; version=0.0.4')
    }
    if (!authorized(req)) return reply(res, 401, cellError('CELL_API_UNAUTHORIZED', 'missing or wrong token').toJSON())
    if (req.method === 'GET' && url.pathname === '/metrics') {
      return reply(res, 200, formatPrometheus([...opts.supervisor.metrics(), ...opts.router.metrics()]), 'text/plain; version=0.0.4')
    }
    if (req.method === 'GET' && url.pathname === '/status') return reply(res, 200, opts.status())
    if (req.method === 'POST' && url.pathname === '/admit') {
      const ttl = Number(url.searchParams.get('ttl') ?? 600)
      return reply(res, 200, { token: opts.admit(Math.max(1, Math.min(86_400, Number.isFinite(ttl) ? ttl : 600)) * 1000) })
    }
    if (req.method === 'POST' && url.pathname === '/move') {
      const fn = url.searchParams.get('fn') ?? ''
      const to = url.searchParams.get('to') ?? ''
      const signed = readSigned(url.searchParams.get('signed'))
      opts.move(fn, to, url.searchParams.get('force') === '1', signed).then((r) => { reply(res, 200, r) }, (err: unknown) => {
        reply(res, 409, toWireError(err, 'MIGRATE_REFUSED'))
      })
      return
    }
    if (req.method === 'POST' && url.pathname === '/expel') {
      const signed = readSigned(url.searchParams.get('signed'))
      if (signed == null) return reply(res, 400, cellError('CELL_API_BAD_REQUEST', 'an expulsion must be signed: use `cell expel CELL --key KEY`').toJSON())
      opts.expel(signed).then((r) => { reply(res, 200, r) }, (err: unknown) => { reply(res, 409, toWireError(err, 'PEERS_EXPULSION_INVALID')) })
      return
    }
    if (req.method === 'POST' && url.pathname === '/divide') {
      // Streamed: one line per step as it happens, then `result {…}` or `error {…}`.
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
      opts.divide(url.searchParams.get('host') ?? '', url.searchParams.get('fn'), url.searchParams.get('identity'), (line) => res.write(line + '\n')).then(
        (r) => { res.end(`result ${JSON.stringify(r)}\n`) },
        (err: unknown) => { res.end(`error ${JSON.stringify(toWireError(err, 'IMPRINT_EXEC_FAILED'))}\n`) })
      return
    }
    if (req.method === 'POST' && url.pathname === '/update' && opts.update != null) {
      opts.update(url.searchParams.get('ref') ?? 'HEAD').then((r) => { reply(res, 200, r) }, (err: unknown) => { reply(res, 409, toWireError(err, 'UPDATE_NEEDS_RESTART')) })
      return
    }
    if (req.method === 'POST' && url.pathname === '/stop') {
      reply(res, 202, { stopping: true })
      return opts.onStop()
    }
    const m = /^\/logs\/([^/]+)$/.exec(url.pathname)
    if (req.method === 'GET' && m != null) {
      const name = decodeURIComponent(m[1])
      if (opts.supervisor.get(name) == null) return reply(res, 404, supervisorError('FUNCTION_UNKNOWN', `no function named ${name}`).toJSON())
      const ac = new AbortController()
      logs.add(ac)
      res.on('close', () => { ac.abort(); logs.delete(ac) })
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
      void (async () => {
        try {
          for await (const line of opts.supervisor.logs(name, { lines: Number(url.searchParams.get('lines') ?? 50), follow: url.searchParams.get('follow') === '1', signal: ac.signal })) {
            res.write(line + '\n')
          }
        } catch { /* aborted or rotated away: end the stream */ }
        res.end()
      })()
      return
    }
    reply(res, 404, cellError('CELL_API_NOT_FOUND', `no ${req.method} ${url.pathname}`).toJSON())
  })

  let port = opts.port
  return {
    name: 'local api',
    get port () { return port },
    start: () => new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(opts.port, '127.0.0.1', () => {
        port = (server.address() as AddressInfo).port
        resolve()
      })
    }),
    stop: () => new Promise((resolve) => {
      for (const ac of logs) ac.abort()
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }
}

/** The operator's signed override, as the CLI passes it (base64url JSON); anything else is no signature. */
function readSigned (param: string | null): Signed | undefined {
  if (param == null) return undefined
  try {
    const v = JSON.parse(Buffer.from(param, 'base64url').toString('utf8')) as { payload?: unknown, signature?: unknown }
    return typeof v.payload === 'string' && typeof v.signature === 'string' ? { payload: v.payload, signature: v.signature } : undefined
  } catch { return undefined }
}
