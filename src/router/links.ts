// Long-lived peer-link streams per owner cell, reused with HTTP/1.1 keep-alive, so that a forwarded request
// does not pay a stream open, a protocol negotiation and a fresh connection into the owner's router each time.
import { Agent } from 'node:http'
import type { ClientRequest, ClientRequestArgs } from 'node:http'
import type { Duplex } from 'node:stream'

export interface LinkOptions {
  /**
   * A stream left idle this long is closed. Below the owner router's keepAliveTimeout (30 s), so that we, not the
   * owner, close it: a request racing the owner's close would fail on a stream that looked usable.
   */
  idleMs: number
  /** Idle streams kept per owner cell; more concurrent requests open more streams, closed once done. */
  maxIdle: number
}

export const defaultLinkOptions: LinkOptions = { idleMs: 10_000, maxIdle: 32 }

/** What http.Agent calls on a socket; a libp2p stream has no socket options, so these are no-ops. */
const socketShims = { ref () {}, unref () {}, setKeepAlive () {}, setNoDelay () {}, setTimeout () {} }

/** One owner cell's pool: a keep-alive http.Agent whose "connections" are member streams. */
class LinkAgent extends Agent {
  open: () => Promise<Duplex>
  opened = 0
  private readonly idleMs: number
  private readonly timers = new WeakMap<Duplex, NodeJS.Timeout>()

  constructor (open: () => Promise<Duplex>, opts: LinkOptions) {
    // lifo: the most recently used streams stay warm, the others reach idleMs and close.
    super({ keepAlive: true, maxFreeSockets: opts.maxIdle, scheduling: 'lifo' })
    this.open = open
    this.idleMs = opts.idleMs
  }

  createConnection (_opts: ClientRequestArgs, done?: (err: Error | null, link: Duplex) => void): undefined {
    this.open().then((link) => {
      this.opened++
      Object.assign(link, socketShims)
      // The owner closed its side: never hand this stream to another request (a net.Socket ends itself the same way).
      link.once('end', () => { link.destroy() })
      link.on('close', () => { clearTimeout(this.timers.get(link)) })
      done?.(null, link)
    }, (err: Error) => { done?.(err, undefined as never) })
    return undefined
  }

  // Our own idle timer instead of Node's socket timeout, which a stream does not have.
  keepSocketAlive (link: Duplex): boolean {
    const timer = setTimeout(() => { link.destroy() }, this.idleMs)
    timer.unref()
    this.timers.set(link, timer)
    return true
  }

  reuseSocket (link: Duplex, req: ClientRequest): void {
    clearTimeout(this.timers.get(link))
    super.reuseSocket(link, req)
  }

  /** True when the agent holds no stream and no waiting request: it can be dropped. */
  empty (): boolean {
    return Object.keys(this.sockets).length === 0 && Object.keys(this.freeSockets).length === 0 && Object.keys(this.requests).length === 0
  }
}

/** Pools per owner cell. A cell that stops owning anything keeps its pool only until its streams go idle. */
export class RemoteLinks {
  private readonly agents = new Map<string, LinkAgent>()
  private readonly opts: LinkOptions
  constructor (opts: Partial<LinkOptions> = {}) { this.opts = { ...defaultLinkOptions, ...opts } }

  agent (cell: string, open: () => Promise<Duplex>): Agent {
    let a = this.agents.get(cell)
    if (a == null) { a = new LinkAgent(open, this.opts); this.agents.set(cell, a) }
    // Every upstream for a cell opens the same kind of stream; keep the latest in case the caller's closure changed.
    a.open = open
    return a
  }

  /** Streams opened so far to a cell (for tests and metrics). */
  opened (cell: string): number { return this.agents.get(cell)?.opened ?? 0 }

  /** Drops pools with nothing in them, so that cells that left do not accumulate. */
  sweep (): void {
    for (const [cell, a] of this.agents) if (a.empty()) { a.destroy(); this.agents.delete(cell) }
  }

  /** Closes every pooled stream, idle or busy (the router calls this after its drain). */
  close (): void {
    for (const a of this.agents.values()) a.destroy()
    this.agents.clear()
  }
}
