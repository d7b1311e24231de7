// Long-lived peer-link streams per owner cell, reused with HTTP/1.1 keep-alive, so that a forwarded request
// does not pay a stream open, a protocol negotiation and a fresh connection into the owner's router each time.
import { Agent } from 'node:http'
import type { ClientRequestArgs } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { Duplex } from 'node:stream'

export interface LinkOptions {
  /**
   * A stream left idle this long is closed (checked every idleMs / 2). 1.5 x idleMs stays below the owner router's
   * keepAliveTimeout (30 s), so that we, not the owner, close it: a request racing the owner's close would fail on
   * a stream that looked usable.
   */
  idleMs: number
  /** Idle streams kept per owner cell; more concurrent requests open more streams, closed once done. */
  maxIdle: number
}

const defaultLinkOptions: LinkOptions = { idleMs: 10_000, maxIdle: 32 }

/** What http.Agent calls on a socket; a libp2p stream has no socket options, so these are no-ops (a TLS socket has its own). */
const socketShims = { ref () {}, unref () {}, setKeepAlive () {}, setNoDelay () {}, setTimeout () {} }
const shim = (link: Duplex): void => {
  const l = link as unknown as Record<string, unknown>
  for (const [k, f] of Object.entries(socketShims)) if (typeof l[k] !== 'function') l[k] = f
}

/** One owner cell's pool: a keep-alive http.Agent whose "connections" are member streams. */
class LinkAgent extends Agent {
  open: () => Promise<Duplex>
  /** Streams being opened: not yet in the agent's lists, but a request waits for each. */
  private opening = 0
  /** When each idle stream went idle; a sweep closes the old ones (no timer per request). */
  private readonly idleSince = new WeakMap<Duplex, number>()

  constructor (open: () => Promise<Duplex>, opts: LinkOptions) {
    // lifo: the most recently used streams stay warm, the others go idle long enough to be closed.
    super({ keepAlive: true, maxFreeSockets: opts.maxIdle, scheduling: 'lifo' })
    this.open = open
  }

  createConnection (_opts: ClientRequestArgs, done?: (err: Error | null, link: Duplex) => void): undefined {
    this.opening++
    this.open().then((link) => {
      this.opening--
      shim(link)
      // The owner closed its side: never hand this stream to another request (a net.Socket ends itself the same way).
      link.once('end', () => { link.destroy() })
      done?.(null, link)
    }, (err: Error) => { this.opening--; done?.(err, undefined as never) })
    return undefined
  }

  // Instead of Node's socket timeout, which a stream does not have.
  keepSocketAlive (link: Duplex): boolean {
    this.idleSince.set(link, performance.now())
    return true
  }

  closeIdle (olderThanMs: number): void {
    const before = performance.now() - olderThanMs
    for (const list of Object.values(this.freeSockets)) {
      for (const link of [...(list ?? [])]) if ((this.idleSince.get(link) ?? 0) <= before) link.destroy()
    }
  }

  /** True when the agent holds no stream and no waiting request: it can be dropped. */
  empty (): boolean {
    // Node leaves an empty list behind for a name whose only stream failed to open: count entries, not keys.
    const none = (lists: NodeJS.ReadOnlyDict<unknown[]>): boolean => Object.values(lists).every((l) => l == null || l.length === 0)
    return this.opening === 0 && none(this.sockets) && none(this.freeSockets) && none(this.requests)
  }
}

/** Pools per owner cell. A cell that stops owning anything keeps its pool only until its streams go idle. */
export class RemoteLinks {
  private readonly agents = new Map<string, LinkAgent>()
  private readonly opts: LinkOptions
  private timer: NodeJS.Timeout | null = null

  constructor (opts: Partial<LinkOptions> = {}) { this.opts = { ...defaultLinkOptions, ...opts } }

  agent (cell: string, open: () => Promise<Duplex>): Agent {
    if (this.timer == null) {
      // Started by the first forward, so a cell that never forwards runs no timer. A stream is closed between idleMs
      // and 1.5 x idleMs after its last request.
      this.timer = setInterval(() => { this.closeIdle() }, this.opts.idleMs / 2)
      this.timer.unref()
    }
    let a = this.agents.get(cell)
    if (a == null) { a = new LinkAgent(open, this.opts); this.agents.set(cell, a) }
    // Every upstream for a cell opens the same kind of stream; keep the latest in case the caller's closure changed.
    a.open = open
    return a
  }

  /** Closes streams idle for idleMs, and drops pools left empty, so that cells that left do not accumulate. */
  closeIdle (): void {
    for (const [cell, a] of this.agents) {
      a.closeIdle(this.opts.idleMs)
      if (a.empty()) { a.destroy(); this.agents.delete(cell) }
    }
  }

  /** Closes every pooled stream, idle or busy (the router calls this after its drain). */
  close (): void {
    if (this.timer != null) clearInterval(this.timer)
    this.timer = null
    for (const a of this.agents.values()) a.destroy()
    this.agents.clear()
  }
}
