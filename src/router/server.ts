// The cell's HTTP edge: one port, route by Host (+ path prefix), requests forwarded at byte level to the function's
// process (wire.ts), what needs more to the node:http handler (handler.ts), usage counted per function.
import type { IncomingMessage, ServerResponse } from 'node:http'
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
import { Pools, defaultPoolOptions } from './proxy.ts'
import type { PoolOptions } from './proxy.ts'
import { TrafficTracker, clientKey, defaultTrafficOptions, emptyTraffic } from './traffic.ts'
import type { FunctionTraffic, TrafficOptions } from './traffic.ts'
import { trafficFamilies, UNROUTED } from './metrics.ts'
import { isLoopback } from './edge.ts'
import type { RemoteUpstream } from './remote.ts'
import { RemoteLinks } from './links.ts'
import { Balancer, LOCAL } from './balance.ts'
import { RecentReads } from './reads.ts'
import type { LinkOptions } from './links.ts'
import { Front } from './front.ts'
import { UpstreamConn, UpstreamPool, dialPort } from './conns.ts'
import { pair } from './pair.ts'
import type { Decision, WireContext } from './context.ts'
import type { PendingRequest } from './request.ts'
import { createHandler } from './handler.ts'
import { LinkPool } from './linkpool.ts'

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
  /** The function process on this local port is stopping: no request goes to it on a kept-alive connection again. */
  retirePort: (port: number) => void
}

const log = logger('router')
/**
 * Per client socket: wire byte counters, so that per-request bytes cost two subtractions and no stream listeners,
 * and the last user key, reused while the socket's requests carry no cookie and the same User-Agent.
 */
interface SocketMark { read: number, written: number, ua: string | undefined, key: string }

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
  const links = new RemoteLinks(opts.links)
  const trackers = new Map<string, TrafficTracker>()
  const marks = new WeakMap<Socket, SocketMark>()
  const tunnels = new Set<Duplex>()
  const lastWarn = new Map<string, number>()
  let table: RouteTable = buildRouteTable([])
  let port = 0
  let sweepTimer: NodeJS.Timeout | null = null
  let idleTimer: NodeJS.Timeout | null = null

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
    count(fn, req.method, req.url, status, startedAt, socket, req.headers.cookie, req.headers['user-agent'])
  }
  const count = (fn: string, method: string | undefined, url: string | undefined, status: number, startedAt: number, socket: Socket | null, cookie: string | undefined, ua: string | undefined): void => {
    if (fn !== UNROUTED) reads.note(fn, method, url, status)
    let read = 0
    let written = 0
    let user: string
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

  const balancer = new Balancer()
  /** The data path's decision for a request: its function's process here, a page, or the handler above. */
  const decide = (req: PendingRequest, socket: Socket): Decision => {
    const m = matchRoute(table, req.host, req.url)
    if (m.kind === 'bad-host') return { kind: 'page', fn: UNROUTED, status: 400, err: routerError('ROUTER_BAD_HOST', `The Host header ${JSON.stringify(req.host ?? null)} is not usable: ${m.reason}.`) }
    if (m.kind === 'no-route') {
      if (opts.fallback != null) return { kind: 'handler', fn: UNROUTED }
      return { kind: 'page', fn: UNROUTED, status: 404, err: routerError('ROUTER_NO_ROUTE', `No function serves the host "${m.host}"${req.url !== '/' ? ` (path ${req.url.split('?')[0].slice(0, 200)})` : ''}.`) }
    }
    const fn = m.entry.function
    if (req.head.upgrade) return { kind: 'handler', fn }
    const hop = req.hop != null && fromMember(socket) ? req.hop : undefined
    const up = opts.resolve(fn, hop != null, req.head.method, hop)
    if (up.kind === 'local') return { kind: 'local', fn, port: up.port, commit: up.commit, served: up.served }
    if (up.kind === 'remote') return { kind: 'remote', fn, up }
    if (up.kind === 'unavailable' && up.hold !== true) {
      return { kind: 'page', fn, status: 503, err: routerError('ROUTER_FUNCTION_UNAVAILABLE', `The function "${fn}" is not available: ${up.reason}.`), extra: { 'retry-after': String(Math.max(1, Math.ceil(up.retryAfterSeconds))) } }
    }
    if (up.kind === 'spread' && up.port != null && balancer.pick(fn, [LOCAL, ...up.remote.map((r) => r.cell)], clock.now()) === LOCAL) {
      return { kind: 'local', fn, port: up.port, done: balancer.begin(fn, LOCAL) }
    }
    return { kind: 'handler', fn }
  }
  const maxHeaderSize = opts.maxHeaderSize ?? 16 * 1024
  const upstreams = new UpstreamPool({ connections: poolOpts.connections, timeoutMs: poolOpts.headersTimeoutMs, maxHeaderSize: 64 * 1024, idleMs: 4_000 }, dialPort(poolOpts.connectTimeoutMs))
  // Below the owner router's 30 s keep-alive, so that we, not the owner, close an idle stream.
  const linkPool = new LinkPool({ connections: poolOpts.connections, timeoutMs: poolOpts.headersTimeoutMs, maxHeaderSize: 64 * 1024, idleMs: opts.links?.idleMs ?? 10_000 })
  const linkConns = linkPool.pool
  const wire: WireContext = {
    maxHeaderSize,
    proto,
    decide,
    acquire: (p, done) => { upstreams.acquire(p, done) },
    release: (c, ok, idleMs) => { if (ok) upstreams.release(c, idleMs); else upstreams.drop(c) },
    acquireLink: (up, done) => { linkPool.acquire(up, done) },
    releaseLink: (c, ok, idleMs) => { if (ok) linkConns.release(c, idleMs); else linkConns.drop(c) },
    self: opts.self ?? '',
    openHandler: (client) => {
      const [near, far] = pair(client.remoteAddress, client.remotePort)
      if (fromMember(client)) memberSockets.add(far)
      handler.server.emit('connection', far)
      return new UpstreamConn(near, 64 * 1024, Infinity)
    },
    record: (req, status, socket) => { count(req.fn === '' ? UNROUTED : req.fn, req.head.method, req.url, status, req.startedAt, socket, req.cookie, req.ua) },
    onUpstreamError
  }
  const handler = createHandler({
    opts, clock, proto, maxHeaderSize, connectTimeoutMs: poolOpts.connectTimeoutMs, table: () => table, pools, links, balancer, tunnels,
    fromMember, record, trackerOf, onUpstreamError
  })
  const front = new Front(wire, {
    headersTimeoutMs: opts.headersTimeoutMs ?? 20_000,
    requestTimeoutMs: opts.requestTimeoutMs ?? 300_000,
    keepAliveTimeoutMs: 30_000,
    maxConnectionsPerAddress: opts.maxConnectionsPerAddress ?? 512,
    fromMember
  })

  return {
    name: 'router',
    get port () { return port },
    setRoutes (next) { table = next },
    stats (fn) { const t = trackers.get(fn); return t == null ? emptyTraffic() : t.snapshot(clock.now()) },
    recentReads (fn) { return reads.of(fn) },
    metrics () { return trafficFamilies(trackers, clock.now()) },
    accept (socket) { memberSockets.add(socket); front.connection(socket) },
    trustLinkPort (p) { linkPorts.add(p); return () => { linkPorts.delete(p) } },
    retirePort (p) { upstreams.retire(p); pools.retire(p) },
    async start () {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error & { code?: string }): void => {
          reject(routerError('ROUTER_LISTEN_FAILED', `The router could not listen on ${host}:${opts.port}: ${err.code ?? err.message}.`, { cause: err }))
        }
        front.server.once('error', onError)
        front.server.listen({ port: opts.port, host, reusePort: opts.reusePort === true }, () => { front.server.off('error', onError); resolve() })
      })
      const addr = front.server.address()
      port = typeof addr === 'object' && addr != null ? addr.port : opts.port
      front.server.on('error', (err) => { log.error('server error', { err }) })
      sweepTimer = setInterval(() => { pools.sweep(clock.now(), 10 * 60_000) }, 60_000)
      sweepTimer.unref()
      // Idle connections are closed by us before the upstream's own keep-alive bound, so that none is reused as it closes.
      idleTimer = setInterval(() => { upstreams.sweep(10 * 60_000); linkConns.sweep(10 * 60_000) }, 2_000)
      idleTimer.unref()
      log.info(`listening on ${host}:${port}`)
    },
    async stop () {
      if (sweepTimer != null) clearInterval(sweepTimer)
      if (idleTimer != null) clearInterval(idleTimer)
      // Requests still waiting get their answer now (the 503 if their function is still not there).
      handler.flush()
      for (const s of tunnels) s.destroy()
      await front.stop(drainMs)
      handler.server.closeAllConnections()
      await pools.closeAll()
      upstreams.closeAll()
      linkConns.closeAll()
      links.close()
    }
  }
}
