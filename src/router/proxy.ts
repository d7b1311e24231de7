// HTTP proxying to a function process: one undici Pool per upstream port, bodies streamed both ways.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Pool } from 'undici'
import type { Dispatcher } from 'undici'
import type { Writable } from 'node:stream'
import { forwardRequestHeaders, forwardResponseHeaders } from './headers.ts'
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

/**
 * Per-request state, passed to undici as `opaque` so that the factory and callback are shared, not per-request closures.
 * It is also the request's abort signal (undici accepts an emitter with on/once/removeListener), which saves an
 * AbortController per request.
 */
export class Exchange {
  readonly res: ServerResponse
  readonly fn: string
  readonly onUpstreamError: (fn: string, err: Error) => void
  aborted = false
  private listener: (() => void) | null = null
  constructor (res: ServerResponse, fn: string, onUpstreamError: (fn: string, err: Error) => void) {
    this.res = res; this.fn = fn; this.onUpstreamError = onUpstreamError
  }

  once (_event: 'abort', fn: () => void): void { this.listener = fn }
  /** Present only because undici checks that a signal has on() or addEventListener(). */
  on (event: 'abort', fn: () => void): void { this.once(event, fn) }
  removeListener (_event: 'abort', _fn: () => void): void { this.listener = null }
  /** Called when the client's response closed before it finished: cancels the upstream request. */
  abort (): void {
    if (this.aborted) return
    this.aborted = true
    const l = this.listener
    this.listener = null
    if (l != null) l()
  }
}

function factory ({ statusCode, headers, opaque }: Dispatcher.StreamFactoryData<Exchange>): Writable {
  opaque.res.writeHead(statusCode, forwardResponseHeaders(headers))
  // ServerResponse is a writable stream in every way undici uses, though not typed as stream.Writable.
  return opaque.res as unknown as Writable
}

function done (err: Error | null, data: { opaque: unknown }): void {
  if (err == null) return
  const ex = data.opaque as Exchange
  if (ex.aborted) return // the client went away; nothing to answer
  ex.onUpstreamError(ex.fn, err)
  sendPage(ex.res, 502, routerError('ROUTER_UPSTREAM_FAILED', `The function "${ex.fn}" did not answer: ${(err as { code?: string }).code ?? err.message}.`))
}

/** Sends req to the pool and streams the answer into res; the caller calls exchange.abort() if the client leaves early. */
export function proxyRequest (pool: Pool, req: IncomingMessage, res: ServerResponse, fn: string, info: ForwardInfo, onUpstreamError: (fn: string, err: Error) => void): Exchange {
  const ex = new Exchange(res, fn, onUpstreamError)
  pool.stream({
    path: req.url ?? '/',
    method: req.method as Dispatcher.HttpMethod,
    headers: forwardRequestHeaders(req.rawHeaders, info),
    body: hasBody(req) ? req : null,
    signal: ex as unknown as AbortSignal,
    opaque: ex
  }, factory, done)
  return ex
}
