// Connections the data path sends requests on: keep-alive connections to function processes (pooled per port) and
// to other cells' routers (pooled per cell),
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
  /** The pool's key for it (a port, a cell); null for the handler's in-memory connection, which no pool holds. */
  key: string | number | null = null
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

  constructor (stream: Duplex, maxHeaderSize: number, maxIdleMs: number) {
    this.stream = stream
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
  /** Connections per key (a port, a cell) at once; more requests wait for one. */
  connections: number
  /** No byte from the upstream for this long while a request waits is a failure (headers and body alike). */
  timeoutMs: number
  maxHeaderSize: number
  /** An idle connection is reused at most this long after its last answer (below the upstream's keep-alive). */
  idleMs: number
}

type Waiter = (err: Error | null, conn: UpstreamConn | null) => void

/** Per key: idle connections (last used first), how many are open, requests waiting for one. */
interface KeyPool { idle: UpstreamConn[], open: number, waiting: Waiter[], lastUsedMs: number, all: Set<UpstreamConn> }

/**
 * Keep-alive connections pooled per key: a function's port (dialled over loopback TCP), or another cell (a stream
 * its link opens). `dial` opens one; the pool bounds, reuses, retires and sweeps them alike.
 */
export class UpstreamPool<K extends string | number = number> {
  private readonly keys = new Map<K, KeyPool>()
  private readonly opts: UpstreamPoolOptions
  private readonly dial: (key: K) => Promise<Duplex>
  constructor (opts: UpstreamPoolOptions, dial: (key: K) => Promise<Duplex>) { this.opts = opts; this.dial = dial }

  private of (key: K): KeyPool {
    let p = this.keys.get(key)
    if (p == null) { p = { idle: [], open: 0, waiting: [], lastUsedMs: 0, all: new Set() }; this.keys.set(key, p) }
    return p
  }

  acquire (key: K, done: Waiter): void {
    const p = this.of(key)
    const now = performance.now()
    p.lastUsedMs = now
    while (p.idle.length > 0) {
      const c = p.idle.pop() as UpstreamConn
      if (!c.closed && now - c.idleSince < c.maxIdleMs) { c.reused = true; done(null, c); return }
      this.drop(c)
    }
    if (p.open < this.opts.connections) { this.open(key, p, done); return }
    p.waiting.push(done)
  }

  private open (key: K, p: KeyPool, done: Waiter): void {
    p.open++
    this.dial(key).then((stream) => {
      const conn = new UpstreamConn(stream, this.opts.maxHeaderSize, this.opts.idleMs)
      conn.key = key
      p.all.add(conn)
      stream.once('close', () => { this.forget(key, conn) })
      // A libp2p stream has no socket timeout; a TCP or TLS socket has.
      const t = stream as Duplex & { setTimeout?: (ms: number) => void }
      t.setTimeout?.(this.opts.timeoutMs)
      done(null, conn)
    }, (err: Error) => {
      p.open--
      done(err, null)
      // A request that waited for a connection tries one of its own.
      const next = p.waiting.shift()
      if (next != null) this.open(key, p, next)
    })
  }

  /** The response ended and the connection may carry another request. */
  release (conn: UpstreamConn, idleMs: number | null): void {
    conn.sink = null
    const key = conn.key as K | null
    if (conn.closed || key == null) return
    if (conn.retired) { this.drop(conn); return }
    const p = this.of(key)
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

  private forget (key: K, conn: UpstreamConn): void {
    const p = this.keys.get(key)
    if (p == null) return
    p.open--
    p.all.delete(conn)
    const i = p.idle.indexOf(conn)
    if (i >= 0) p.idle.splice(i, 1)
    const next = p.waiting.shift()
    if (next != null) this.open(key, p, next)
  }

  /**
   * The process behind `key` is stopping: its idle connections close now, busy ones after their response. A Node
   * server's close() waits for every open connection, and keeps serving one that is never idle when it looks, so a
   * pool under load would keep a stopping function alive until its grace ran out.
   */
  retire (key: K): void {
    const p = this.keys.get(key)
    if (p == null) return
    for (const c of p.all) c.retired = true
    for (const c of p.idle.splice(0)) c.stream.destroy()
  }

  /**
   * Closes idle connections past their bound (so that the upstream never closes one we are about to use), and
   * forgets keys unused for forgetMs (a restarted function gets a new port, a cell leaves).
   */
  sweep (forgetMs: number): void {
    const now = performance.now()
    for (const [key, p] of this.keys) {
      for (const c of [...p.idle]) if (now - c.idleSince >= c.maxIdleMs) c.stream.destroy()
      if (now - p.lastUsedMs < forgetMs || p.waiting.length > 0) continue
      for (const c of p.idle) c.stream.destroy()
      if (p.open <= p.idle.length) this.keys.delete(key)
    }
  }

  closeAll (): void {
    for (const p of this.keys.values()) {
      for (const c of p.idle) c.stream.destroy()
      for (const w of p.waiting) w(new Error('the router is stopping'), null)
      p.waiting = []
    }
  }
}

/** Dials a function's port on loopback, failing after connectTimeoutMs. */
export function dialPort (connectTimeoutMs: number) {
  return async (port: number): Promise<Duplex> => await new Promise<Duplex>((resolve, reject) => {
    const socket: Socket = connect({ port, host: '127.0.0.1', noDelay: true })
    const timer = setTimeout(() => { socket.destroy(Object.assign(new Error(`connect timed out after ${connectTimeoutMs} ms`), { code: 'UND_ERR_CONNECT_TIMEOUT' })) }, connectTimeoutMs)
    const failed = (err: Error): void => { clearTimeout(timer); reject(err) }
    socket.once('error', failed)
    // The listener stays until the connection's own takes over (a microtask later): an error between is not unhandled.
    socket.once('connect', () => { clearTimeout(timer); resolve(socket); queueMicrotask(() => { socket.off('error', failed) }) })
  })
}
