// The router's data path for one client connection: requests parsed by llhttp as bytes arrive, answered strictly in
// order (pipelining), each one forwarded at byte level to its function's process on a pooled keep-alive connection.
// What needs more than that (another cell, a hold, the live map, an upgrade) goes to the router's node:http handler
// over an in-memory connection that passes for this client's.
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { MessageParser } from './h1.ts'
import type { Head, ParseError } from './h1.ts'
import { upstreamHead, handlerHead } from './frame.ts'
import { Exchange } from './exchange.ts'
import type { ClientSide } from './exchange.ts'
import { pendingRequest, UNKNOWN_CODING, UNROUTED_REQUEST } from './request.ts'
import type { PendingRequest } from './request.ts'
import type { UpstreamConn } from './conns.ts'
import { routerError } from './errors.ts'
import { rawPage } from './pages.ts'
import type { OrganismError } from '../core/errors.ts'
import type { Decision, WireContext } from './context.ts'

/** A pooled stream may have died unseen; a few tries reach a live or a fresh one. */
const LINK_ATTEMPTS = 3
const codeOf = (err: Error): string => (err as { code?: string }).code ?? err.message

/** Body bytes held for a request that waits its turn behind others before the client is paused. */
const MAX_BUFFERED = 1 << 20

export class ClientConnection implements ClientSide {
  readonly socket: Socket
  private readonly ctx: WireContext
  private readonly parser: MessageParser
  private readonly queue: PendingRequest[] = []
  private active: PendingRequest | null = null
  private exchange: Exchange | null = null
  private reading: PendingRequest | null = null
  private handler: UpstreamConn | null = null
  /** When the head being read began, or -1 between requests. */
  headStartedAt = -1
  lastActiveAt = performance.now()
  private ended = false
  private failure: string | null = null
  /** An upgrade request: the bytes after its head go to the handler once it has the request (`sent`). */
  private upgrading: { req: PendingRequest, sent: boolean } | null = null
  /** Carries an upgraded connection's bytes now (a WebSocket), no more requests. */
  tunnelled = false
  private corked = false
  /** Set by a stopping router: the connection closes after the response in flight. */
  closing = false

  constructor (socket: Socket, ctx: WireContext) {
    this.socket = socket
    this.ctx = ctx
    this.parser = new MessageParser('request', ctx.maxHeaderSize, {
      onBegin: () => { this.headStartedAt = performance.now() },
      onHead: (h) => { this.onHead(h); return false },
      onBody: (c) => { this.onBody(c) },
      onEnd: () => { this.onEnd() }
    })
    socket.on('data', (c: Buffer) => { this.onData(c) })
    socket.on('error', () => { socket.destroy() })
    socket.on('close', () => { this.onClose() })
  }

  /** Idle (nothing in flight, nothing being read) since this time, or -1 when busy. */
  idleSince (): number {
    return this.active == null && this.reading == null && this.queue.length === 0 && this.headStartedAt < 0 && !this.tunnelled ? this.lastActiveAt : -1
  }

  /** Whether the request being read is still unfinished: its head (`head`) or all of it. */
  readingSince (): { at: number, head: boolean } | null {
    if (this.headStartedAt < 0 || this.tunnelled || this.ended) return null
    return { at: this.headStartedAt, head: this.reading == null }
  }

  private onData (chunk: Buffer): void {
    if (this.ended || this.failure != null) return
    const n = this.parser.execute(chunk)
    if (typeof n !== 'number') { this.parseFailed(n); return }
    const up = this.upgrading
    if (n < chunk.length && up != null) {
      // Bytes after an upgrade's head belong to the tunnel, if one opens; the parser reads no further.
      const rest = chunk.subarray(n)
      if (up.sent) this.handler?.stream.write(rest)
      else up.req.body.push(rest)
    }
  }

  private onHead (h: Head): void {
    const req = pendingRequest(h, performance.now())
    this.reading = req
    if (h.upgrade) this.upgrading = { req, sent: false }
    this.queue.push(req)
    if (this.active == null) this.next()
  }

  private onBody (chunk: Buffer): void {
    const req = this.reading
    if (req == null) return
    if (req.sink != null) { req.sink(chunk); return }
    req.body.push(chunk)
    req.buffered += chunk.length
    if (req.buffered > MAX_BUFFERED) this.socket.pause()
  }

  private onEnd (): void {
    const req = this.reading
    this.reading = null
    this.headStartedAt = -1
    if (req == null) return
    req.bodyDone = true
    const done = req.onBodyDone
    req.onBodyDone = null
    req.sink = null
    done?.()
    if (req.head.upgrade) this.socket.pause() // nothing more is parsed; the tunnel takes the bytes, if it opens
  }

  private next (): void {
    const req = this.queue.shift()
    if (req == null) return
    this.active = req
    if (this.socket.isPaused() && !req.head.upgrade) this.socket.resume()
    if (req.head.versionMajor !== 1) {
      // RFC 9110 §15.6.6: the major version is not one this router speaks (a real HTTP/2 client sends its preface,
      // which is no request line; this is a 1.x-shaped request claiming another version).
      this.page(req, 505, routerError('ROUTER_BAD_REQUEST', `The request claims HTTP/${req.head.versionMajor}.${req.head.versionMinor}; this router speaks HTTP/1.0 and HTTP/1.1.`), undefined, true)
      return
    }
    if (req.fn === UNKNOWN_CODING) {
      req.fn = ''
      // Its body's end cannot be known: the connection closes after the answer.
      this.page(req, 501, routerError('ROUTER_BAD_REQUEST', 'The request has a Transfer-Encoding other than chunked, which this router does not decode.'), undefined, true)
      return
    }
    const d = this.ctx.decide(req, this.socket)
    req.fn = d.fn
    if (d.kind === 'page') { this.page(req, d.status, d.err, d.extra); return }
    if (d.kind === 'handler') { this.toHandler(req); return }
    if (d.kind === 'remote') { this.toRemote(req, d); return }
    this.toLocal(req, d)
  }

  private toLocal (req: PendingRequest, d: Extract<Decision, { kind: 'local' }>, attempt = 1): void {
    this.ctx.acquire(d.port, (err, conn) => {
      // The client left while this request waited for a connection: it is never sent.
      if (this.active !== req || this.ended) { d.done?.(); if (conn != null) this.ctx.release(conn, !conn.closed, null); return }
      if (err != null || conn == null) {
        d.done?.()
        this.ctx.onUpstreamError(d.fn, err ?? new Error('no connection'))
        this.page(req, 502, routerError('ROUTER_UPSTREAM_FAILED', `The function "${d.fn}" did not answer: ${codeOf(err ?? new Error('no connection'))}.`))
        return
      }
      const info = { remoteAddress: this.socket.remoteAddress ?? '', proto: this.ctx.proto }
      this.exchange = new Exchange(this, req, conn, {
        fn: d.fn,
        release: (c, ok, idle) => { d.done?.(); this.ctx.release(c, ok, idle) },
        onUpstreamError: this.ctx.onUpstreamError,
        retry: attempt < 2 ? () => { this.toLocal(req, d, attempt + 1) } : null,
        commit: d.commit,
        served: d.served,
        failure: (e) => `The function "${d.fn}" did not answer: ${codeOf(e)}.`
      }, upstreamHead(req.head, req.url, info, req.framing, req.length))
    })
  }

  /** To the router of the cell that owns the function, on a pooled stream; it serves the request, never forwards it. */
  private toRemote (req: PendingRequest, d: Extract<Decision, { kind: 'remote' }>, attempt = 1): void {
    const failure = (e: Error): string => `The cell that serves "${d.fn}" could not be reached over the peer link: ${e.message}.`
    this.ctx.acquireLink(d.up, (err, conn) => {
      if (this.active !== req || this.ended) { if (conn != null) this.ctx.releaseLink(conn, !conn.closed, null); return }
      if (err != null || conn == null) {
        const e = err ?? new Error('no stream')
        this.ctx.onUpstreamError(d.fn, e)
        this.page(req, 502, routerError('ROUTER_UPSTREAM_FAILED', failure(e)))
        return
      }
      const info = { remoteAddress: this.socket.remoteAddress ?? '', proto: this.ctx.proto }
      const hop = d.up.bounce === true ? `${this.ctx.self} back` : this.ctx.self
      this.exchange = new Exchange(this, req, conn, {
        fn: d.fn,
        release: (c, ok, idle) => { this.ctx.releaseLink(c, ok, idle) },
        onUpstreamError: this.ctx.onUpstreamError,
        retry: attempt < LINK_ATTEMPTS ? () => { this.toRemote(req, d, attempt + 1) } : null,
        failure
      }, upstreamHead(req.head, req.url, info, req.framing, req.length, hop))
    })
  }

  private toHandler (req: PendingRequest): void {
    if (this.handler == null || this.handler.closed) this.handler = this.ctx.openHandler(this.socket)
    const conn = this.handler
    this.exchange = new Exchange(this, req, conn, {
      fn: req.fn,
      release: (c, ok) => { if (!ok) { c.stream.destroy(); if (this.handler === c) this.handler = null } },
      onUpstreamError: this.ctx.onUpstreamError,
      retry: null,
      failure: (e) => `The router did not answer: ${codeOf(e)}.`
    }, handlerHead(req.head, req.url, req.framing, req.length))
    if (this.upgrading?.req === req) this.upgrading.sent = true
    // The handler counts its own requests; this one is not counted again here.
    req.byHandler = true
  }

  write (data: Buffer | string): boolean {
    if (!this.corked) {
      // One write per response where the pieces come in one go (head, body, last chunk).
      this.corked = true
      this.socket.cork()
      process.nextTick(() => { this.corked = false; this.socket.uncork() })
    }
    return typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data)
  }

  finished (req: PendingRequest, status: number, close: boolean): void {
    if (this.active !== req) return
    this.active = null
    this.exchange = null
    this.lastActiveAt = performance.now()
    if (!req.byHandler) this.ctx.record(req, status, this.socket)
    if (!req.bodyDone) {
      // Answered before its body ended: the rest is read and dropped, then the next request's turn.
      req.sink = () => {}
      req.onBodyDone = () => { if (!close) this.next() }
    }
    if (close || req.head.upgrade || this.closing) { this.end(); return }
    if (this.failure != null && this.queue.length === 0) { this.end(this.failure); return }
    if (req.bodyDone) this.next()
  }

  page (req: PendingRequest, status: number, err: OrganismError, extra?: Record<string, string>, mustClose = false): void {
    const close = mustClose || !req.head.keepAlive || req.head.upgrade
    this.write(rawPage(status, err, extra, close))
    this.finished(req, status, close)
  }

  tunnel (_req: PendingRequest, conn: UpstreamConn, rest: Buffer): void {
    this.tunnelled = true
    this.active = null
    this.exchange = null
    const up = conn.stream
    const s = this.socket
    if (rest.length > 0) this.write(rest)
    s.removeAllListeners('data')
    s.pipe(up)
    up.pipe(s)
    s.resume()
    // The tunnel's far end closed (its idle bound, the function): the client gets a FIN and its own bytes are still
    // read for a while, not a reset.
    up.on('close', () => {
      if (s.destroyed) return
      s.end()
      const timer = setTimeout(() => { s.destroy() }, 2_000)
      timer.unref()
      s.once('close', () => { clearTimeout(timer) })
    })
    // The handler's own tunnel (its end of this one) is what the router tracks and cuts at stop.
    s.on('close', () => { up.destroy() })
  }

  abort (): void { this.socket.destroy() }

  /** Answers what is in flight and then closes (a stopping router, or a connection idle too long). */
  end (last?: string): void {
    if (this.ended) return
    this.ended = true
    if (last != null) this.write(last)
    this.socket.end()
    // Unread bytes at close make the kernel send a reset, and the client would not see our answer: read them for a
    // while longer.
    this.socket.resume()
    const timer = setTimeout(() => { this.socket.destroy() }, 2_000)
    timer.unref()
    this.socket.once('close', () => { clearTimeout(timer) })
  }

  /** The request head or the request took too long: 408, and the connection closes. */
  timedOut (): void {
    const page = rawPage(408, routerError('ROUTER_BAD_REQUEST', 'The request was not received in time (ERR_HTTP_REQUEST_TIMEOUT).'))
    if (this.exchange != null) { this.exchange.cancel(); this.exchange = null }
    if (this.active != null) { this.socket.destroy(); return }
    this.end(page)
  }

  private parseFailed (e: ParseError): void {
    const tooLarge = e.code === 'HPE_HEADER_OVERFLOW'
    const status = tooLarge ? 431 : 400
    const err = tooLarge
      ? routerError('ROUTER_HEADER_TOO_LARGE', 'The request headers are larger than this router accepts.')
      : routerError('ROUTER_BAD_REQUEST', `The request could not be parsed (${e.code}: ${e.reason ?? e.message}).`)
    this.ctx.record({ ...UNROUTED_REQUEST, startedAt: performance.now() }, status, this.socket)
    this.failure = rawPage(status, err)
    const r = this.reading
    // A request whose body was cut by the error cannot be completed upstream: it is cancelled there, and the client
    // gets the 400 unless part of an answer already went out (then only the cut connection can tell it).
    if (r != null && r === this.active) {
      const answering = this.exchange?.answering() ?? false
      this.exchange?.cancel()
      this.exchange = null
      this.active = null
      if (answering) this.socket.destroy(); else this.end(this.failure)
      return
    }
    if (this.active == null) this.end(this.failure)
  }

  private onClose (): void {
    this.ended = true
    this.exchange?.cancel()
    this.exchange = null
    this.handler?.stream.destroy()
    this.parser.free()
  }
}
