// The router's node:http handler: what the byte-level data path hands on because it needs more than bytes — a
// request forwarded to another cell over a member link, one held while its function starts or moves, an instance
// picked among several cells, the live map (fallback), and WebSocket upgrades. It listens on no port: the data path
// feeds it in-memory connections that pass for the client's.
import { createServer, ServerResponse } from 'node:http'
import type { IncomingMessage, Server } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { performance } from 'node:perf_hooks'
import type { Clock } from '../core/clock.ts'
import { routerError } from './errors.ts'
import { matchRoute } from './routes.ts'
import type { RouteTable } from './routes.ts'
import { sendPage, rawPage } from './pages.ts'
import { proxyRequest } from './proxy.ts'
import type { Pools, Exchange } from './proxy.ts'
import { tunnel } from './upgrade.ts'
import { createHold } from './hold.ts'
import { clientKey } from './traffic.ts'
import type { TrafficTracker } from './traffic.ts'
import { UNROUTED } from './metrics.ts'
import { forwardRequest, tunnelRemote, HOP_HEADER } from './remote.ts'
import { normalizeTarget } from './edge.ts'
import type { RemoteLinks } from './links.ts'
import type { Balancer } from './balance.ts'
import { LOCAL } from './balance.ts'
import type { RouterOptions, Upstream } from './server.ts'

/** What the handler shares with the router around it. */
export interface HandlerContext {
  readonly opts: RouterOptions
  readonly clock: Clock
  readonly proto: 'http' | 'https'
  readonly maxHeaderSize: number
  readonly connectTimeoutMs: number
  readonly table: () => RouteTable
  readonly pools: Pools
  readonly links: RemoteLinks
  readonly balancer: Balancer
  /** Upgraded connections open now, cut when the router stops. */
  readonly tunnels: Set<Duplex>
  fromMember: (s: Socket) => boolean
  record: (fn: string, req: IncomingMessage, status: number, startedAt: number, socket: Socket | null) => void
  trackerOf: (fn: string) => TrafficTracker
  onUpstreamError: (fn: string, err: Error) => void
}

export interface Handler {
  /** Takes the in-memory connections (emit 'connection'); listens on no port. */
  readonly server: Pick<Server, 'emit' | 'closeAllConnections'>
  /** Answers every held request now (the 503 if its function is still not there). */
  flush: () => void
}

/** How often held requests look at their function again. */
const HOLD_TICK_MS = 50

/** The response carries the request's bookkeeping, so that one shared 'close' listener serves every request. */
class RouterResponse extends ServerResponse {
  fn = UNROUTED
  startedAt = 0
  clientSocket: Socket | null = null
  exchange: Exchange | null = null
}

export function createHandler (ctx: HandlerContext): Handler {
  const { opts, clock, proto, pools, links, balancer } = ctx
  const answeredClientError = new WeakSet<Duplex>()
  // A request that already crossed a link says so; from an edge client that header means nothing.
  const hopped = (req: IncomingMessage): boolean => req.headers[HOP_HEADER] != null && ctx.fromMember(req.socket)

  /** The client's view, carried across a peer link so the owner's function sees who really asked. */
  const forwardedFor = (req: IncomingMessage): Record<string, string> => {
    const addr = req.socket.remoteAddress ?? ''
    const prior = req.headers['x-forwarded-for']
    return { 'x-forwarded-for': prior != null ? `${String(prior)}, ${addr}` : addr, 'x-forwarded-proto': proto, 'x-forwarded-host': req.headers.host ?? '' }
  }
  const remoteFailed = (fn: string, res: ServerResponse) => (err: Error): void => {
    ctx.onUpstreamError(fn, err)
    if (!res.headersSent) sendPage(res, 502, routerError('ROUTER_UPSTREAM_FAILED', `The cell that serves "${fn}" could not be reached over the peer link: ${err.message}.`))
  }
  const info = (req: IncomingMessage): { remoteAddress: string, proto: 'http' | 'https' } =>
    ({ remoteAddress: req.socket.remoteAddress ?? '', proto })

  /** Shared by every response (this = the response): cancels the upstream call if the client left, then counts. */
  function onResponseClose (this: RouterResponse): void {
    if (this.exchange != null && !this.writableFinished) this.exchange.abort()
    ctx.record(this.fn, this.req, this.headersSent ? this.statusCode : 0, this.startedAt, this.clientSocket)
  }

  const onRequest = (req: IncomingMessage, response: ServerResponse): void => {
    const res = response as RouterResponse
    res.startedAt = performance.now()
    res.clientSocket = req.socket
    normalizeTarget(req)
    const m = matchRoute(ctx.table(), req.headers.host, req.url ?? '/')
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
    if (target == null) { res.exchange = proxyRequest(pools.get(up.port as number, clock.now()), req, res, fn, info(req), ctx.onUpstreamError); return }
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
    res.exchange = proxyRequest(pools.get(up.port, clock.now()), req, res, fn, info(req), ctx.onUpstreamError, up.commit, up.served)
  }

  const onUpgrade = (req: IncomingMessage, client: Duplex, head: Buffer): void => {
    const startedAt = performance.now()
    normalizeTarget(req)
    const m = matchRoute(ctx.table(), req.headers.host, req.url ?? '/')
    const fn = m.kind === 'match' ? m.entry.function : UNROUTED
    const refuse = (status: number, page: string): void => {
      client.on('error', () => {})
      client.end(page)
      ctx.record(fn, req, status, startedAt, client as Socket)
    }
    if (m.kind === 'bad-host') { refuse(400, rawPage(400, routerError('ROUTER_BAD_HOST', `The Host header is not usable: ${m.reason}.`))); return }
    if (m.kind === 'no-route') { refuse(404, rawPage(404, routerError('ROUTER_NO_ROUTE', `No function serves the host "${m.host}".`))); return }
    const resolved = opts.resolve(fn, hopped(req), req.method ?? 'GET')
    // A tunnel stays where it starts: this cell's own instance if one is ready, else another cell's.
    const up = resolved.kind !== 'spread' ? resolved : resolved.port != null ? { kind: 'local' as const, port: resolved.port } : resolved.remote[0]
    if (up.kind === 'remote') {
      void tunnelRemote(up, req, client, head, opts.self ?? '', forwardedFor(req), (err) => {
        ctx.onUpstreamError(fn, err)
        refuse(502, rawPage(502, routerError('ROUTER_UPSTREAM_FAILED', `The cell that serves "${fn}" could not be reached: ${err.message}.`)))
      })
      return
    }
    if (up.kind === 'unavailable') {
      refuse(503, rawPage(503, routerError('ROUTER_FUNCTION_UNAVAILABLE', `The function "${fn}" is not available: ${up.reason}.`), { 'Retry-After': String(Math.max(1, Math.ceil(up.retryAfterSeconds))) }))
      return
    }
    tunnel(req, client, head, up.port, fn, info(req), ctx.connectTimeoutMs, ctx.tunnels, (end) => {
      const user = clientKey(req.headers.cookie, req.socket?.remoteAddress, req.headers['user-agent'])
      ctx.trackerOf(fn).record(clock.now(), end.status, performance.now() - startedAt, user, end.bytesIn, end.bytesOut)
    }, opts.tunnelIdleMs)
  }

  const server = createServer({
    ServerResponse: RouterResponse, maxHeaderSize: ctx.maxHeaderSize, requireHostHeader: false, keepAliveTimeout: 30_000,
    headersTimeout: opts.headersTimeoutMs ?? 20_000, requestTimeout: opts.requestTimeoutMs ?? 300_000,
    // How often those two are checked: their bound holds to within this.
    connectionsCheckingInterval: Math.min(2_000, opts.headersTimeoutMs ?? 2_000)
  }, onRequest)
  server.on('upgrade', onUpgrade)
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
    ctx.trackerOf(UNROUTED).record(clock.now(), status, 0, 'a:' + (s.remoteAddress ?? ''), 0, 0)
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
  return { server, flush: () => { hold.flush() } }
}
