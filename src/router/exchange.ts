// One request on the byte-level data path: its head and body written to an upstream connection (a function's
// process, or the router's own node:http handler), the response relayed to the client re-framed, nothing buffered
// but a write's answer that waits for its replica.
import type { Socket } from 'node:net'
import { routerError } from './errors.ts'
import { chunkParts, clientHead, LAST_CHUNK } from './frame.ts'
import type { ResponsePlan } from './frame.ts'
import type { Head } from './h1.ts'
import type { ResponseSink, UpstreamConn } from './conns.ts'
import type { OrganismError } from '../core/errors.ts'
import type { PendingRequest } from './request.ts'
import { IDEMPOTENT } from './headers.ts'

/** What the exchange needs of the client connection. */
export interface ClientSide {
  readonly socket: Socket
  /** Writes to the client; false when the client's buffer is full. */
  write: (data: Buffer | string) => boolean
  /** The response is complete; `status` 0 when none was sent. */
  finished: (req: PendingRequest, status: number, close: boolean) => void
  /** Answers with one of the router's pages (when nothing of a response went out yet). */
  page: (req: PendingRequest, status: number, err: OrganismError, extra?: Record<string, string>) => void
  /** After a 101: the client's bytes go to `conn` raw, and its bytes to the client. */
  tunnel: (req: PendingRequest, conn: UpstreamConn, rest: Buffer) => void
  /** Abandons the client connection (a response cut short cannot be told any other way). */
  abort: () => void
}

export interface ExchangeOptions {
  fn: string
  /** The response's connection is to be given back (keep-alive) or dropped. */
  release: (conn: UpstreamConn, reusable: boolean, idleMs: number | null) => void
  onUpstreamError: (fn: string, err: Error) => void
  /** A retry on a fresh connection, when the failure cannot have run the request (see `replayable`). */
  retry: (() => void) | null
  commit?: () => Promise<void> | null
  served?: string
  /** The 502 page's sentence for a failure before any answer. */
  failure: (err: Error) => string
}

export class Exchange implements ResponseSink {
  private plan: ResponsePlan | null = null
  private status = 0
  private interim = false
  private held: { head: string, body: Buffer[], committed: Promise<void> } | null = null
  private done = false
  /** Something of the request went out: from then on only a request that may run twice is sent again. */
  private sent = false
  /** The upstream's answer lets its connection carry another request (no Connection: close, not HTTP/1.0). */
  private upstreamKeepAlive = false
  /** The response head, until the first body bytes (or the end of the bytes at hand) go with it. */
  private pendingHead: string | null = null
  /** The client's buffer is full: the upstream is paused until it drains. */
  private clientFull = false

  readonly client: ClientSide
  readonly req: PendingRequest
  readonly conn: UpstreamConn
  readonly opts: ExchangeOptions

  constructor (client: ClientSide, req: PendingRequest, conn: UpstreamConn, opts: ExchangeOptions, head: string) {
    this.client = client; this.req = req; this.conn = conn; this.opts = opts
    conn.sink = this
    const s = conn.stream
    if (s.destroyed || !s.writable) {
      // Found closed when handed out (its close not yet seen): nothing of the request was sent, so it may go again.
      queueMicrotask(() => { this.onFail(Object.assign(new Error('the pooled connection was closed'), { code: 'ECONNRESET' })) })
      return
    }
    s.write(head, 'latin1')
    this.sent = true
    if (req.expectContinue && !req.bodyDone) { req.expectContinue = false; client.write('HTTP/1.1 100 Continue\r\n\r\n') }
    const chunked = req.framing === 'chunked'
    // An upgrade's client stays paused: its bytes wait for the tunnel.
    const resume = (): void => { if (!req.head.upgrade) client.socket.resume() }
    let waiting = false
    const send = (c: Buffer): void => {
      let ok = true
      if (chunked) { for (const p of chunkParts(c)) ok = s.write(p) && ok } else ok = s.write(c)
      // The client waits while the upstream's buffer is full: a fast uploader cannot fill the router's memory.
      if (!ok && !waiting) { waiting = true; client.socket.pause(); s.once('drain', () => { waiting = false; resume() }) }
    }
    for (const c of req.body) send(c)
    // A body that came before the connection did may have paused the client (ClientConnection's MAX_BUFFERED).
    if (req.buffered > 0 && !waiting) resume()
    req.body = []
    req.buffered = 0
    const end = (): void => { if (chunked) s.write(LAST_CHUNK) }
    if (req.bodyDone) end()
    else { req.sink = send; req.onBodyDone = end }
  }

  onHead (h: Head): boolean {
    if (h.status < 200 && h.status !== 101) { this.interim = true; return false } // Expect is answered by the router
    const req = this.req
    this.status = h.status
    this.upstreamKeepAlive = h.keepAlive
    const bodiless = req.head.method === 'HEAD' || h.status === 204 || h.status === 304 || h.status === 101
    if (h.status === 101) {
      let head = `HTTP/1.1 101 ${h.reason}\r\n`
      for (let i = 0; i < h.headers.length; i += 2) head += `${h.headers[i]}: ${h.headers[i + 1]}\r\n`
      this.client.write(head + '\r\n')
      return true
    }
    const plan = clientHead(h, bodiless, req.head.versionMinor, req.head.keepAlive && !req.head.upgrade, this.opts.served)
    this.plan = plan
    const committed = h.status < 300 ? this.opts.commit?.() : null
    if (committed != null) {
      committed.catch(() => {}) // awaited at the end; a rejection before then is not unhandled
      this.held = { head: plan.head, body: [], committed }
      return bodiless
    }
    // Written with the first body bytes, or at the end of the bytes at hand (flush): one write per small response.
    this.pendingHead = plan.head
    return bodiless
  }

  /** The head not written yet: a response whose body has not begun in the bytes at hand gets its head now. */
  flush (): void {
    if (this.pendingHead == null) return
    this.client.write(this.pendingHead)
    this.pendingHead = null
  }

  onBody (chunk: Buffer): void {
    if (this.held != null) { this.held.body.push(chunk); return }
    const c = this.client
    const chunked = this.plan?.framing === 'chunked'
    let ok: boolean
    if (this.pendingHead != null && chunk.length <= MERGE_MAX) {
      // Head and body in one string, one write: latin1 maps each byte to one char and back, so nothing changes.
      const body = chunk.toString('latin1')
      ok = c.write(chunked ? `${this.pendingHead}${chunk.length.toString(16)}\r\n${body}\r\n` : this.pendingHead + body)
      this.pendingHead = null
    } else {
      this.flush()
      ok = chunked ? writeAll(c, chunkParts(chunk)) : c.write(chunk)
    }
    if (!ok && !this.clientFull) {
      this.clientFull = true
      this.conn.stream.pause()
      c.socket.once('drain', () => { this.clientFull = false; this.conn.stream.resume() })
    }
  }

  onEnd (): void {
    if (this.interim) { this.interim = false; return }
    if (this.done || this.status === 101) return
    this.done = true
    const plan = this.plan as ResponsePlan
    // An upstream that answered before reading the whole body cannot take the next request on this connection.
    this.opts.release(this.conn, plan != null && this.req.bodyDone && this.upstreamKeepAlive, plan?.upstreamIdleMs ?? null)
    const held = this.held
    if (held == null) {
      if (this.pendingHead != null) { this.client.write(plan.framing === 'chunked' ? this.pendingHead + '0\r\n\r\n' : this.pendingHead); this.pendingHead = null } else if (plan.framing === 'chunked') this.client.write(LAST_CHUNK)
      this.client.finished(this.req, this.status, plan.close)
      return
    }
    held.committed.then(() => {
      const c = this.client
      c.write(held.head)
      if (plan.framing === 'chunked') {
        const body = Buffer.concat(held.body)
        if (body.length > 0) writeAll(c, chunkParts(body))
        c.write(LAST_CHUNK)
      } else for (const b of held.body) c.write(b)
      c.finished(this.req, this.status, plan.close)
    }, (err: unknown) => {
      const e = err as { message?: string }
      this.client.page(this.req, 503, routerError('ROUTER_WRITE_NOT_REPLICATED', `The write to "${this.opts.fn}" was not confirmed by its replica: ${e.message ?? String(err)}`), { 'retry-after': '2' })
    })
  }

  onUpgraded (rest: Buffer): void {
    this.done = true
    this.client.tunnel(this.req, this.conn, rest)
  }

  onFail (err: Error): void {
    if (this.done) return
    this.done = true
    this.opts.release(this.conn, false, null)
    const nothingOut = this.plan == null && this.status === 0
    // On a connection that sat idle (the upstream may have closed it meanwhile), a request is tried again on another
    // when it cannot run twice: none of it was sent, or it is bodiless and idempotent.
    if (nothingOut && this.conn.reused && this.opts.retry != null && (!this.sent || replayable(this.req))) { this.opts.retry(); return }
    this.opts.onUpstreamError(this.opts.fn, err)
    if (!nothingOut || this.held != null) { this.client.abort(); return }
    this.client.page(this.req, 502, routerError('ROUTER_UPSTREAM_FAILED', this.opts.failure(err)))
  }

  /** Part of the answer went to the client, or waits for its replica. */
  answering (): boolean { return this.status !== 0 }

  /** The client went away: the upstream connection cannot carry another request. */
  cancel (): void {
    if (this.done) return
    this.done = true
    this.opts.release(this.conn, false, null)
  }
}

/** Body bytes at most merged with the head into one write; a larger chunk is written on its own, uncopied. */
const MERGE_MAX = 16 * 1024

function replayable (req: PendingRequest): boolean {
  return req.framing === 'none' && IDEMPOTENT.has(req.head.method)
}

function writeAll (c: ClientSide, parts: Buffer[]): boolean {
  let ok = true
  for (const p of parts) ok = c.write(p) && ok
  return ok
}
