// Connections the data path sends requests on: keep-alive TCP connections to function processes, pooled per port,
// and the in-memory connection into the router's own node:http handler. Each carries one response parser.
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { performance } from 'node:perf_hooks'
import { MessageParser } from './h1.ts'
import type { Head, ParseError } from './h1.ts'

/** What receives the response to the request being sent on a connection. */
export interface ResponseSink {
  /** True: this response has no body (the answer to a HEAD). */
  onHead: (head: Head) => boolean
  onBody: (chunk: Buffer) => void
  onEnd: () => void
  /** The bytes at hand are parsed: what waits to be written with more of them goes out now. */
  flush: () => void
  /** The connection failed or closed before the response ended. */
  onFail: (err: Error) => void
  /** After an upgrade's 101: the bytes that followed its head (the tunnel's first). */
  onUpgraded: (rest: Buffer) => void
}

export class UpstreamConn {
  readonly stream: Duplex
  readonly port: number
  sink: ResponseSink | null = null
  /** Handed out before: a request on it may meet a close the upstream sent while it sat idle. */
  reused = false
  idleSince = 0
  maxIdleMs: number
  upgraded = false
  closed = false
  /** Its function's process is stopping: dropped once its response ends, never reused. */
  retired = false
  private readonly parser: MessageParser

  constructor (stream: Duplex, port: number, maxHeaderSize: number, maxIdleMs: number) {
    this.stream = stream
    this.port = port
    this.maxIdleMs = maxIdleMs
    this.parser = new MessageParser('response', maxHeaderSize, {
      onBegin: noop,
      onHead: (h) => { if (h.status === 101) this.upgraded = true; return this.sink?.onHead(h) ?? false },
      onBody: (c) => { this.sink?.onBody(c) },
      onEnd: () => { this.sink?.onEnd() }
    })
    stream.on('data', (chunk: Buffer) => { this.onData(chunk) })
    stream.on('end', () => { this.onClose(null) })
    stream.on('error', (err: Error) => { this.onClose(err) })
    stream.on('close', () => { this.onClose(null) })
    stream.on('timeout', () => { if (this.sink != null) stream.destroy(Object.assign(new Error('upstream sent nothing for too long'), { code: 'UND_ERR_HEADERS_TIMEOUT' })) })
  }

  private onData (chunk: Buffer): void {
    if (this.upgraded) return // the tunnel has its own listeners now
    const n = this.parser.execute(chunk)
    if (typeof n !== 'number') { this.fail(parseFailure(n)); return }
    this.sink?.flush()
    if (this.upgraded) {
      this.stream.removeAllListeners('data')
      this.sink?.onUpgraded(chunk.subarray(n))
    }
  }

  private onClose (err: Error | null): void {
    if (this.closed) return
    this.closed = true
    if (this.upgraded) return
    // A response that runs to the close ends here; one cut short is a failure.
    const e = err ?? this.parser.finish()
    if (this.sink != null) this.fail(e != null ? (e instanceof Error ? e : parseFailure(e)) : new Error('upstream closed the connection before it answered'))
    this.parser.free()
    this.stream.destroy()
  }

  private fail (err: Error): void {
    const s = this.sink
    this.sink = null
    this.stream.destroy()
    s?.onFail(err)
  }
}

const noop = (): void => {}
const parseFailure = (e: ParseError): Error => Object.assign(new Error(`upstream answered malformed HTTP: ${e.reason ?? e.code}`), { code: e.code })

export interface UpstreamPoolOptions {
  /** Connections per port at once; more requests wait for one. */
  connections: number
  connectTimeoutMs: number
  /** No byte from the upstream for this long while a request waits is a failure (headers and body alike). */
  timeoutMs: number
  maxHeaderSize: number
  /** An idle connection is reused at most this long after its last answer (below Node's 5 s keepAliveTimeout). */
  idleMs: number
}

type Waiter = (err: Error | null, conn: UpstreamConn | null) => void

/** Per port: idle connections (last used first), how many are open, requests waiting for one. */
interface PortPool { idle: UpstreamConn[], open: number, waiting: Waiter[], lastUsedMs: number, all: Set<UpstreamConn> }

export class UpstreamPool {
  private readonly ports = new Map<number, PortPool>()
  private readonly opts: UpstreamPoolOptions
  constructor (opts: UpstreamPoolOptions) { this.opts = opts }

  private of (port: number): PortPool {
    let p = this.ports.get(port)
    if (p == null) { p = { idle: [], open: 0, waiting: [], lastUsedMs: 0, all: new Set() }; this.ports.set(port, p) }
    return p
  }

  acquire (port: number, done: Waiter): void {
    const p = this.of(port)
    const now = performance.now()
    p.lastUsedMs = now
    while (p.idle.length > 0) {
      const c = p.idle.pop() as UpstreamConn
      if (!c.closed && now - c.idleSince < c.maxIdleMs) { c.reused = true; done(null, c); return }
      this.drop(c)
    }
    if (p.open < this.opts.connections) { this.open(port, p, done); return }
    p.waiting.push(done)
  }

  private open (port: number, p: PortPool, done: Waiter): void {
    p.open++
    const socket: Socket = connect({ port, host: '127.0.0.1', noDelay: true })
    const conn = new UpstreamConn(socket, port, this.opts.maxHeaderSize, this.opts.idleMs)
    p.all.add(conn)
    socket.once('close', () => { this.forget(conn) })
    const timer = setTimeout(() => { socket.destroy(Object.assign(new Error(`connect timed out after ${this.opts.connectTimeoutMs} ms`), { code: 'UND_ERR_CONNECT_TIMEOUT' })) }, this.opts.connectTimeoutMs)
    const failed = (err: Error): void => { clearTimeout(timer); done(err, null) }
    socket.once('error', failed)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.off('error', failed)
      socket.setTimeout(this.opts.timeoutMs)
      done(null, conn)
    })
  }

  /** The response ended and the connection may carry another request. */
  release (conn: UpstreamConn, idleMs: number | null): void {
    conn.sink = null
    if (conn.closed) return
    if (conn.retired) { this.drop(conn); return }
    const p = this.of(conn.port)
    const next = p.waiting.shift()
    if (next != null) { conn.reused = true; next(null, conn); return }
    conn.idleSince = performance.now()
    // The upstream's own Keep-Alive timeout, less a second for the race between its close and our next request.
    if (idleMs != null) conn.maxIdleMs = Math.min(this.opts.idleMs, Math.max(0, idleMs - 1000))
    p.idle.push(conn)
  }

  /** The connection is done for (an error, an unread body, "Connection: close"). */
  drop (conn: UpstreamConn): void {
    conn.sink = null
    conn.stream.destroy()
  }

  private forget (conn: UpstreamConn): void {
    const p = this.ports.get(conn.port)
    if (p == null) return
    p.open--
    p.all.delete(conn)
    const i = p.idle.indexOf(conn)
    if (i >= 0) p.idle.splice(i, 1)
    const next = p.waiting.shift()
    if (next != null) this.open(conn.port, p, next)
  }

  /**
   * The process on `port` is stopping: its idle connections close now, busy ones after their response. A Node
   * server's close() waits for every open connection, and keeps serving one that is never idle when it looks, so a
   * pool under load would keep a stopping function alive until its grace ran out.
   */
  retire (port: number): void {
    const p = this.ports.get(port)
    if (p == null) return
    for (const c of p.all) c.retired = true
    for (const c of p.idle.splice(0)) c.stream.destroy()
  }

  /** Forgets ports unused for idleMs (a restarted function gets a new port). */
  sweep (idleMs: number): void {
    const before = performance.now() - idleMs
    for (const [port, p] of this.ports) {
      if (p.lastUsedMs > before || p.waiting.length > 0) continue
      for (const c of p.idle) c.stream.destroy()
      if (p.open <= p.idle.length) this.ports.delete(port)
    }
  }

  closeAll (): void {
    for (const p of this.ports.values()) {
      for (const c of p.idle) c.stream.destroy()
      for (const w of p.waiting) w(new Error('the router is stopping'), null)
      p.waiting = []
    }
  }
}
