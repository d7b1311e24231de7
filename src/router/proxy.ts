// HTTP proxying to a function process: one undici Pool per upstream port, bodies streamed both ways.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Pool, errors } from 'undici'
import type { Dispatcher } from 'undici'
import { forwardRequestHeaders, forwardRawResponseHeaders } from './headers.ts'
import type { ForwardInfo } from './headers.ts'
import { routerError } from './errors.ts'
import { sendPage } from './pages.ts'

export interface PoolOptions {
  /** Connections per upstream port; pipelining stays 1 because function processes are plain HTTP/1.1 servers. */
  connections: number
  connectTimeoutMs: number
  /** Time to wait for the response headers and, separately, between body chunks. */
  headersTimeoutMs: number
  bodyTimeoutMs: number
}

export const defaultPoolOptions: PoolOptions = { connections: 128, connectTimeoutMs: 5_000, headersTimeoutMs: 60_000, bodyTimeoutMs: 300_000 }

/** Keeps one Pool per upstream port and closes those unused for a while (a restarted function gets a new port). */
export class Pools {
  private readonly pools = new Map<number, { pool: Pool, lastUsedMs: number }>()
  private readonly opts: PoolOptions
  constructor (opts: PoolOptions) { this.opts = opts }

  get (port: number, nowMs: number): Pool {
    let p = this.pools.get(port)
    if (p == null) {
      const pool = new Pool(`http://127.0.0.1:${port}`, {
        connections: this.opts.connections,
        pipelining: 1,
        connectTimeout: this.opts.connectTimeoutMs,
        headersTimeout: this.opts.headersTimeoutMs,
        bodyTimeout: this.opts.bodyTimeoutMs
      })
      p = { pool, lastUsedMs: nowMs }
      this.pools.set(port, p)
    }
    p.lastUsedMs = nowMs
    return p.pool
  }

  /** The process on `port` is stopping: its pool finishes what it sends and closes (requests after get a new one). */
  retire (port: number): void {
    const p = this.pools.get(port)
    if (p == null) return
    this.pools.delete(port)
    void p.pool.close().catch(() => {})
  }

  /** Closes pools idle for longer than idleMs; returns how many. */
  sweep (nowMs: number, idleMs: number): number {
    let n = 0
    for (const [port, p] of this.pools) {
      if (nowMs - p.lastUsedMs > idleMs) { this.pools.delete(port); void p.pool.close().catch(() => {}); n++ }
    }
    return n
  }

  async closeAll (): Promise<void> {
    const all = [...this.pools.values()]
    this.pools.clear()
    await Promise.all(all.map(async (p) => { await p.pool.destroy().catch(() => {}) }))
  }
}

function hasBody (req: IncomingMessage): boolean {
  const te = req.headers['transfer-encoding']
  if (te != null) return true
  const cl = req.headers['content-length']
  return cl != null && cl !== '0'
}

type Abort = (err?: Error) => void
const noResume = (): void => {}

/**
 * One proxied request, and undici's dispatch handler for it (the legacy, callback-style handler interface that undici's
 * client core uses natively, so no adapter, AsyncResource, stream.finished() or header object sits in between).
 * Response headers go from undici's raw buffers straight into a flat array for writeHead.
 */
export class Exchange implements Dispatcher.DispatchHandler {
  readonly res: ServerResponse
  readonly fn: string
  readonly onUpstreamError: (fn: string, err: Error) => void
  aborted = false
  private abortUpstream: Abort | null = null
  private resume: () => void = noResume
  private readonly commit: (() => Promise<void> | null) | undefined
  private readonly served: string | undefined
  /** A 2xx answer to a write, held whole until its commit resolves (the data is on the replica). */
  private held: { status: number, headers: string[], body: Buffer[], committed: Promise<void> } | null = null
  constructor (res: ServerResponse, fn: string, onUpstreamError: (fn: string, err: Error) => void, commit?: () => Promise<void> | null, served?: string) {
    this.res = res; this.fn = fn; this.onUpstreamError = onUpstreamError; this.commit = commit; this.served = served
  }

  /** Called when the client's response closed before it finished: cancels the upstream request. */
  abort (): void {
    if (this.aborted) return
    this.aborted = true
    const a = this.abortUpstream
    this.abortUpstream = null
    if (a != null) a(new errors.RequestAbortedError())
  }

  onConnect (abort: Abort): void {
    if (this.aborted) { abort(new errors.RequestAbortedError()); return }
    this.abortUpstream = abort
  }

  onHeaders (statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true // 1xx: Node answers Expect itself; other interim responses are not relayed
    // The function wrote before it answered: the commit starts now, while the body still comes.
    const committed = statusCode < 300 ? this.commit?.() : null
    if (committed != null) {
      committed.catch(() => {}) // awaited in onComplete; a rejection before then is not unhandled
      this.held = { status: statusCode, headers: this.headersOf(rawHeaders), body: [], committed }
      return true
    }
    const res = this.res
    res.writeHead(statusCode, this.headersOf(rawHeaders))
    this.resume = resume
    return res.writableNeedDrain !== true
  }

  private headersOf (raw: Buffer[]): string[] {
    const headers = forwardRawResponseHeaders(raw)
    if (this.served != null) headers.push('x-organism-served', this.served)
    return headers
  }

  onData (chunk: Buffer): boolean {
    if (this.held != null) { this.held.body.push(chunk); return true }
    const ok = this.res.write(chunk)
    if (!ok) this.res.once('drain', this.resume) // rare: only a slow client pays for a listener
    return ok
  }

  onComplete (): void {
    this.abortUpstream = null
    const held = this.held
    if (held == null) { this.res.end(); return }
    held.committed.then(() => {
      if (this.aborted || this.res.destroyed) return
      this.res.writeHead(held.status, held.headers)
      this.res.end(Buffer.concat(held.body))
    }, (err: unknown) => {
      if (this.aborted || this.res.destroyed) return
      // Not acknowledged: the client must not take this write for kept (it may or may not be).
      const e = err as { code?: string, message?: string, hint?: string }
      sendPage(this.res, 503, routerError('ROUTER_WRITE_NOT_REPLICATED', `The write to "${this.fn}" was not confirmed by its replica: ${e.message ?? String(err)}`), { 'retry-after': '2' })
    })
  }

  onError (err: Error): void {
    this.abortUpstream = null
    if (this.aborted) return // the client went away; nothing to answer
    this.onUpstreamError(this.fn, err)
    if (this.res.headersSent) { this.res.destroy(err); return } // mid-body: cutting the connection is the only signal left
    sendPage(this.res, 502, routerError('ROUTER_UPSTREAM_FAILED', `The function "${this.fn}" did not answer: ${(err as { code?: string }).code ?? err.message}.`))
  }
}

/** Sends req to the pool and streams the answer into res; the caller calls exchange.abort() if the client leaves early. */
export function proxyRequest (pool: Pool, req: IncomingMessage, res: ServerResponse, fn: string, info: ForwardInfo, onUpstreamError: (fn: string, err: Error) => void, commit?: () => Promise<void> | null, served?: string): Exchange {
  const ex = new Exchange(res, fn, onUpstreamError, commit, served)
  pool.dispatch({
    path: req.url ?? '/',
    method: req.method as Dispatcher.HttpMethod,
    headers: forwardRequestHeaders(req.rawHeaders, info),
    body: hasBody(req) ? req : null
  }, ex)
  return ex
}
