// The cell's HTTP edge: one port, route by Host (+ path prefix), proxy to the function's process, count usage.
import { createServer, ServerResponse } from 'node:http'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { performance } from 'node:perf_hooks'
import type { Clock } from '../core/clock.ts'
import { realClock } from '../core/clock.ts'
import type { Startable } from '../core/lifecycle.ts'
import type { MetricFamily } from '../core/prometheus.ts'
import { logger } from '../core/log.ts'
import { routerError } from './errors.ts'
import { buildRouteTable, matchRoute } from './routes.ts'
import type { RouteTable } from './routes.ts'
import { sendPage, rawPage } from './pages.ts'
import { Pools, defaultPoolOptions, proxyRequest } from './proxy.ts'
import type { PoolOptions, Exchange } from './proxy.ts'
import { tunnel } from './upgrade.ts'
import { createHold } from './hold.ts'
import { TrafficTracker, clientKey, defaultTrafficOptions, emptyTraffic } from './traffic.ts'
import type { FunctionTraffic, TrafficOptions } from './traffic.ts'
import { trafficFamilies, UNROUTED } from './metrics.ts'
import { forwardRequest, tunnelRemote, HOP_HEADER } from './remote.ts'
import { isLoopback, normalizeTarget } from './edge.ts'
import type { RemoteUpstream } from './remote.ts'
import { RemoteLinks } from './links.ts'
import { Balancer, LOCAL } from './balance.ts'
import { RecentReads } from './reads.ts'
import type { LinkOptions } from './links.ts'

/** Where a function's requests go: a local process, the owner cell over the peer link, or nowhere for now. */
export type Upstream =
  /**
   * `commit`, for a request that may change data: what a 2xx answer waits for (its changes on the replica); `served`
   * names the cell and epoch that accepted it (X-Organism-Served on the answer: what a history checker reads).
   */
  | { kind: 'local', port: number, commit?: () => Promise<void> | null, served?: string }
  /** `hold`: the condition passes by itself in seconds (a function starting, moving, taken over): wait, don't 503. */
  | { kind: 'unavailable', reason: string, retryAfterSeconds: number, hold?: boolean }
  | RemoteUpstream
  /** A function on several cells: its local instance's port (null: none ready here) and the other cells serving it. */
  | { kind: 'spread', port: number | null, remote: readonly RemoteUpstream[] }

export interface RouterOptions {
  /** 0 = any free port; read the chosen one from router.port after start(). */
  port: number
  /** Default 127.0.0.1: exposing the edge to the network is a choice the cell makes explicitly (e.g. '0.0.0.0' or '::'). */
  host?: string
  /** Called per request; must be cheap (a map lookup in the supervisor's state). `method` lets a cell refuse writes alone. */
  /**
   * hopFrom: the hop header of a request forwarded here by a member ("<cell id>", or "<cell id> back" for one sent
   * back by the cell it was forwarded to); upgrades never get it (they are not sent back).
   */
  resolve: (fn: string, forwarded: boolean, method: string, hopFrom?: string) => Upstream
  /** Serves a request whose host no function claims (the live map) before the 404; true if it answered. */
  fallback?: (req: IncomingMessage, res: ServerResponse) => boolean
  /** This cell's id, sent with requests forwarded to other cells. */
  self?: string
  /** Bytes of request head accepted before answering 431; default 16 KiB. */
  maxHeaderSize?: number
  /** Drives the metric windows (not request latency, which uses the monotonic performance clock). */
  clock?: Clock
  /** Value of X-Forwarded-Proto; 'https' once TLS terminates in front of the router. */
  proto?: 'http' | 'https'
  pool?: Partial<PoolOptions>
  /** Pooled peer-link streams to the cells that own other functions. */
  links?: Partial<LinkOptions>
  traffic?: Partial<TrafficOptions>
  /**
   * How long a request for a function that is starting, moving or being taken over waits for it before the 503;
   * default 5 s, 0 answers at once. At most `maxHeld` requests wait at a time (default 1000); more get the 503.
   */
  holdMs?: number
  maxHeld?: number
  /**
   * The edge's bounds: the whole request head within headersTimeoutMs (default 20 s: slowloris), the whole request
   * within requestTimeoutMs (default 300 s: trickled uploads), at most maxConnectionsPerAddress connections open from
   * one client address (default 512; links from member cells do not count).
   */
  headersTimeoutMs?: number
  requestTimeoutMs?: number
  maxConnectionsPerAddress?: number
  /** An upgraded connection (WebSocket) with no byte either way for this long is closed; default 10 min. */
  tunnelIdleMs?: number
  /** Max time stop() waits for requests in flight before cutting them; default 5 s. */
  drainMs?: number
  /**
   * SO_REUSEPORT, so that several router processes can share one port (the kernel spreads connections).
   * Each process keeps its own metrics; nothing aggregates them yet, so the cell runs one router today.
   */
  reusePort?: boolean
}

export interface Router extends Startable {
  readonly port: number
  setRoutes: (table: RouteTable) => void
  stats: (fn: string) => FunctionTraffic
  /** The last distinct paths of GETs of fn answered 2xx here (at most 20), oldest first. */
  recentReads: (fn: string) => string[]
  metrics: () => MetricFamily[]
  /** Serves a connection that arrived another way (another cell's forwarding port) as if it came to the port. */
  accept: (socket: Duplex) => void
  /** A member link that reaches the router through a loopback connection from this local port (serveLink). */
  trustLinkPort: (port: number) => () => void
}

const log = logger('router')
/** How often held requests look at their function again. */
const HOLD_TICK_MS = 50

/**
 * Per client socket: wire byte counters, so that per-request bytes cost two subtractions and no stream listeners,
 * and the last user key, reused while the socket's requests carry no cookie and the same User-Agent.
 */
interface SocketMark { read: number, written: number, ua: string | undefined, key: string }

/** The response carries the request's bookkeeping, so that one shared 'close' listener serves every request. */
class RouterResponse extends ServerResponse {
  fn = UNROUTED
  startedAt = 0
  clientSocket: Socket | null = null
  exchange: Exchange | null = null
}

export function createRouter (opts: RouterOptions): Router {
  const clock = opts.clock ?? realClock
  const host = opts.host ?? '127.0.0.1'
  const proto = opts.proto ?? 'http'
  const poolOpts: PoolOptions = { ...defaultPoolOptions, ...opts.pool }
  const trafficOpts: TrafficOptions = { ...defaultTrafficOptions, ...opts.traffic }
  const drainMs = opts.drainMs ?? 5_000
  const pools = new Pools(poolOpts)
  /** Connections handed over by accept(): links from member cells. */
  const memberSockets = new WeakSet<object>()
  /** Local ports of the loopback connections that carry member links into this router (serveLink). */
  const linkPorts = new Set<number>()
  const fromMember = (s: Socket): boolean => memberSockets.has(s) || (isLoopback(s.remoteAddress) && s.remotePort != null && linkPorts.has(s.remotePort))
  // A request that already crossed a link says so; from an edge client that header means nothing.
  const hopped = (req: IncomingMessage): boolean => req.headers[HOP_HEADER] != null && fromMember(req.socket)
  const links = new RemoteLinks(opts.links)
  const trackers = new Map<string, TrafficTracker>()
  const marks = new WeakMap<Socket, SocketMark>()
  const tunnels = new Set<Duplex>()
  const answeredClientError = new WeakSet<Duplex>()
  const lastWarn = new Map<string, number>()
  let table: RouteTable = buildRouteTable([])
  let port = 0
  let sweepTimer: NodeJS.Timeout | null = null

  const trackerOf = (fn: string): TrafficTracker => {
    let t = trackers.get(fn)
    if (t == null) { t = new TrafficTracker(clock.now(), trafficOpts); trackers.set(fn, t) }
    return t
  }

  /** At most one warning per function per 10 s, so a dead function cannot flood the log. */
  const onUpstreamError = (fn: string, err: Error): void => {
    const now = clock.now()
    if (now - (lastWarn.get(fn) ?? -Infinity) < 10_000) return
    lastWarn.set(fn, now)
    log.warn(`upstream of ${fn} failed`, { function: fn, err })
  }

  /** Counts one finished request; allocates nothing on a keep-alive socket whose requests look alike. */
  const reads = new RecentReads()
  const record = (fn: string, req: IncomingMessage, status: number, startedAt: number, socket: Socket | null): void => {
    if (fn !== UNROUTED) reads.note(fn, req.method, req.url, status)
    let read = 0
    let written = 0
    let user: string
    const cookie = req.headers.cookie
    const ua = req.headers['user-agent']
    if (socket == null) {
      user = clientKey(cookie, undefined, ua)
    } else {
      let m = marks.get(socket)
      if (m == null) { m = { read: 0, written: 0, ua: undefined, key: '' }; marks.set(socket, m) }
      read = socket.bytesRead - m.read
      written = socket.bytesWritten - m.written
      m.read = socket.bytesRead; m.written = socket.bytesWritten
      if (cookie == null && m.key !== '' && m.ua === ua) {
        user = m.key
      } else {
        user = clientKey(cookie, socket.remoteAddress, ua)
        if (cookie == null) { m.ua = ua; m.key = user }
      }
    }
    trackerOf(fn).record(clock.now(), status, performance.now() - startedAt, user, read, written)
  }

  /** The client's view, carried across a peer link so the owner's function sees who really asked. */
  const forwardedFor = (req: IncomingMessage): Record<string, string> => {
    const addr = req.socket.remoteAddress ?? ''
    const prior = req.headers['x-forwarded-for']
    return { 'x-forwarded-for': prior != null ? `${String(prior)}, ${addr}` : addr, 'x-forwarded-proto': proto, 'x-forwarded-host': req.headers.host ?? '' }
  }
  const remoteFailed = (fn: string, res: ServerResponse) => (err: Error): void => {
    onUpstreamError(fn, err)
    if (!res.headersSent) sendPage(res, 502, routerError('ROUTER_UPSTREAM_FAILED', `The cell that serves "${fn}" could not be reached over the peer link: ${err.message}.`))
  }

  const info = (req: IncomingMessage): { remoteAddress: string, proto: 'http' | 'https' } =>
    ({ remoteAddress: req.socket.remoteAddress ?? '', proto })

  /** Shared by every response (this = the response): cancels the upstream call if the client left, then counts. */
  function onResponseClose (this: RouterResponse): void {
    if (this.exchange != null && !this.writableFinished) this.exchange.abort()
    record(this.fn, this.req, this.headersSent ? this.statusCode : 0, this.startedAt, this.clientSocket)
  }

  const onRequest = (req: IncomingMessage, response: ServerResponse): void => {
    const res = response as RouterResponse
    res.startedAt = performance.now()
    res.clientSocket = req.socket
    normalizeTarget(req)
    const m = matchRoute(table, req.headers.host, req.url ?? '/')
    const fn = m.kind === 'match' ? m.entry.function : UNROUTED
    res.fn = fn
    res.on('close', onResponseClose)
    if (m.kind === 'bad-host') {
      sendPage(res, 400, routerError('ROUTER_BAD_HOST', `The Host header ${JSON.stringify(req.headers.host ?? null)} is not usable: ${m.reason}.`))
      return
    }
    if (m.kind === 'no-route') {
      if (opts.fallback?.(req, res) === true) return
      sendPage(res, 404, routerError('ROUTER_NO_ROUTE', `No function serves the host "${m.host}"${req.url != null && req.url !== '/' ? ` (path ${req.url.split('?')[0].slice(0, 200)})` : ''}.`))
      return
    }
    dispatch(req, res, fn, hold.deadline(performance.now()))
  }

  type Waiting = { req: IncomingMessage, res: RouterResponse, fn: string }
  const hold = createHold<Waiting>({ holdMs: opts.holdMs ?? 5000, maxHeld: opts.maxHeld ?? 1000, tickMs: HOLD_TICK_MS },
    (w, until) => { dispatch(w.req, w.res, w.fn, until) }, (w) => w.res.destroyed)
  const balancer = new Balancer()
  /**
   * To the least busy instance; one whose cell cannot be reached gets no more requests for a while, and the request
   * tries the next instance when that cannot run it twice (nothing of it was sent, or it is bodiless and idempotent).
   */
  const spread = (req: IncomingMessage, res: RouterResponse, fn: string, up: Extract<Upstream, { kind: 'spread' }>, tried: Set<string>): void => {
    const keys = [...up.port != null ? [LOCAL] : [], ...up.remote.map((r) => r.cell)]
    const key = balancer.pick(fn, keys, clock.now(), tried)
    const target = key == null || key === LOCAL ? null : up.remote.find((r) => r.cell === key)
    if (key == null || (key !== LOCAL && target == null)) { remoteFailed(fn, res)(new Error(`no instance of ${fn} answered (${tried.size} tried)`)); return }
    const done = balancer.begin(fn, key)
    res.once('close', done)
    if (target == null) { res.exchange = proxyRequest(pools.get(up.port as number, clock.now()), req, res, fn, info(req), onUpstreamError); return }
    forwardRequest(links, target, req, res, opts.self ?? '', forwardedFor(req), (err, retryable) => {
      done()
      balancer.eject(target.cell, clock.now())
      if (retryable && !res.headersSent && !res.destroyed) { tried.add(target.cell); spread(req, res, fn, up, tried); return }
      remoteFailed(fn, res)(err)
    })
  }
  const dispatch = (req: IncomingMessage, res: RouterResponse, fn: string, until: number): void => {
    const hop = hopped(req) ? String(req.headers[HOP_HEADER]) : undefined
    const up = opts.resolve(fn, hop != null, req.method ?? 'GET', hop)
    if (up.kind === 'spread') { spread(req, res, fn, up, new Set()); return }
    if (up.kind === 'remote') {
      forwardRequest(links, up, req, res, opts.self ?? '', forwardedFor(req), remoteFailed(fn, res))
      return
    }
    if (up.kind === 'unavailable' && up.hold === true && hold.keep({ req, res, fn }, until, performance.now())) return
    if (up.kind === 'unavailable') {
      sendPage(res, 503, routerError('ROUTER_FUNCTION_UNAVAILABLE', `The function "${fn}" is not available: ${up.reason}.`), { 'retry-after': String(Math.max(1, Math.ceil(up.retryAfterSeconds))) })
      return
    }
    res.exchange = proxyRequest(pools.get(up.port, clock.now()), req, res, fn, info(req), onUpstreamError, up.commit, up.served)
  }

  const onUpgrade = (req: IncomingMessage, client: Duplex, head: Buffer): void => {
    const startedAt = performance.now()
    normalizeTarget(req)
    const m = matchRoute(table, req.headers.host, req.url ?? '/')
    const fn = m.kind === 'match' ? m.entry.function : UNROUTED
    const refuse = (status: number, page: string): void => {
      client.on('error', () => {})
      client.end(page)
      record(fn, req, status, startedAt, client as Socket)
    }
    if (m.kind === 'bad-host') { refuse(400, rawPage(400, routerError('ROUTER_BAD_HOST', `The Host header is not usable: ${m.reason}.`))); return }
    if (m.kind === 'no-route') { refuse(404, rawPage(404, routerError('ROUTER_NO_ROUTE', `No function serves the host "${m.host}".`))); return }
    const resolved = opts.resolve(fn, hopped(req), req.method ?? 'GET')
    // A tunnel stays where it starts: this cell's own instance if one is ready, else another cell's.
    const up = resolved.kind !== 'spread' ? resolved : resolved.port != null ? { kind: 'local' as const, port: resolved.port } : resolved.remote[0]
    if (up.kind === 'remote') {
      void tunnelRemote(up, req, client, head, opts.self ?? '', forwardedFor(req), (err) => {
        onUpstreamError(fn, err)
        refuse(502, rawPage(502, routerError('ROUTER_UPSTREAM_FAILED', `The cell that serves "${fn}" could not be reached: ${err.message}.`)))
      })
      return
    }
    if (up.kind === 'unavailable') {
      refuse(503, rawPage(503, routerError('ROUTER_FUNCTION_UNAVAILABLE', `The function "${fn}" is not available: ${up.reason}.`), { 'Retry-After': String(Math.max(1, Math.ceil(up.retryAfterSeconds))) }))
      return
    }
    tunnel(req, client, head, up.port, fn, info(req), poolOpts.connectTimeoutMs, tunnels, (end) => {
      const user = clientKey(req.headers.cookie, req.socket?.remoteAddress, req.headers['user-agent'])
      trackerOf(fn).record(clock.now(), end.status, performance.now() - startedAt, user, end.bytesIn, end.bytesOut)
    }, opts.tunnelIdleMs)
  }

  const server = createServer({
    ServerResponse: RouterResponse, maxHeaderSize: opts.maxHeaderSize ?? 16 * 1024, requireHostHeader: false, keepAliveTimeout: 30_000,
    headersTimeout: opts.headersTimeoutMs ?? 20_000, requestTimeout: opts.requestTimeoutMs ?? 300_000,
    // How often those two are checked: their bound holds to within this.
    connectionsCheckingInterval: Math.min(2_000, opts.headersTimeoutMs ?? 2_000)
  }, onRequest)
  server.on('upgrade', onUpgrade)
  const perAddress = new Map<string, number>()
  const maxPerAddress = opts.maxConnectionsPerAddress ?? 512
  server.on('connection', (s: Socket) => {
    s.setNoDelay?.(true)
    if (fromMember(s)) return
    const who = s.remoteAddress ?? ''
    const open = (perAddress.get(who) ?? 0) + 1
    if (open > maxPerAddress) { s.destroy(); return }
    perAddress.set(who, open)
    s.once('close', () => { const n = (perAddress.get(who) ?? 1) - 1; if (n <= 0) perAddress.delete(who); else perAddress.set(who, n) })
  })
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    const s = socket as Socket
    // The parser reports an error again for every later chunk; answer once, and a second end() would destroy the socket.
    if (answeredClientError.has(s)) return
    answeredClientError.add(s)
    if (err.code === 'ECONNRESET' || !s.writable) { s.destroy(); return }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW'
    const status = tooLarge ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
    const e = tooLarge
      ? routerError('ROUTER_HEADER_TOO_LARGE', 'The request headers are larger than this router accepts.')
      : routerError('ROUTER_BAD_REQUEST', `The request could not be parsed (${err.code ?? err.message}).`)
    const t = trackerOf(UNROUTED)
    t.record(clock.now(), status, 0, 'a:' + (s.remoteAddress ?? ''), 0, 0)
    s.end(rawPage(status, e))
    // Keep reading what the client still sends: closing with unread bytes makes the kernel send a reset,
    // and the client would see ECONNRESET instead of our 431. The timer bounds the wait.
    s.removeAllListeners('data') // detach the failed parser; it has nothing more to say
    s.on('data', () => {})
    s.resume()
    const timer = setTimeout(() => s.destroy(), 2_000)
    timer.unref()
    s.once('close', () => { clearTimeout(timer) })
    s.once('end', () => { s.destroy() })
  })

  return {
    name: 'router',
    get port () { return port },
    setRoutes (next) { table = next },
    stats (fn) { const t = trackers.get(fn); return t == null ? emptyTraffic() : t.snapshot(clock.now()) },
    recentReads (fn) { return reads.of(fn) },
    metrics () { return trafficFamilies(trackers, clock.now()) },
    accept (socket) { memberSockets.add(socket); server.emit('connection', socket) },
    trustLinkPort (p) { linkPorts.add(p); return () => { linkPorts.delete(p) } },
    async start () {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error & { code?: string }): void => {
          reject(routerError('ROUTER_LISTEN_FAILED', `The router could not listen on ${host}:${opts.port}: ${err.code ?? err.message}.`, { cause: err }))
        }
        server.once('error', onError)
        server.listen({ port: opts.port, host, reusePort: opts.reusePort === true }, () => { server.off('error', onError); resolve() })
      })
      const addr = server.address()
      port = typeof addr === 'object' && addr != null ? addr.port : opts.port
      server.on('error', (err) => { log.error('server error', { err }) })
      sweepTimer = setInterval(() => { pools.sweep(clock.now(), 10 * 60_000) }, 60_000)
      sweepTimer.unref()
      log.info(`listening on ${host}:${port}`)
    },
    async stop () {
      if (sweepTimer != null) clearInterval(sweepTimer)
      // Requests still waiting get their answer now (the 503 if their function is still not there).
      hold.flush()
      const closed = new Promise<void>((resolve) => { server.close(() => { resolve() }) })
      server.closeIdleConnections()
      for (const s of tunnels) s.destroy()
      // Requests in flight may finish; after drainMs they are cut so that stop() always returns.
      const timer = setTimeout(() => { server.closeAllConnections() }, drainMs)
      await closed
      clearTimeout(timer)
      await pools.closeAll()
      links.close()
    }
  }
}
