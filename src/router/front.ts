// The router's listening socket and its client connections: caps per client address, the edge's timeouts (the
// request head, the whole request, an idle keep-alive connection), and the drain at stop.
import { createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { performance } from 'node:perf_hooks'
import { ClientConnection } from './wire.ts'
import type { WireContext } from './context.ts'

export interface FrontOptions {
  headersTimeoutMs: number
  requestTimeoutMs: number
  keepAliveTimeoutMs: number
  maxConnectionsPerAddress: number
  /** Connections from member cells count against no address's cap. */
  fromMember: (s: Socket) => boolean
}

export class Front {
  readonly server: Server
  private readonly clients = new Set<ClientConnection>()
  private readonly perAddress = new Map<string, number>()
  private timer: NodeJS.Timeout | null = null
  /** Called when the last connection closed (a stopping router waits for it). */
  private emptied: (() => void) | null = null

  private readonly ctx: WireContext
  private readonly opts: FrontOptions

  constructor (ctx: WireContext, opts: FrontOptions) {
    this.ctx = ctx; this.opts = opts
    this.server = createServer({ noDelay: true }, (s) => { this.connection(s) })
  }

  /** A connection to the port, or one from elsewhere (a member cell's forwarding port) served as if it came to it. */
  connection (s: Socket | Duplex): void {
    const socket = s as Socket
    if (!this.opts.fromMember(socket)) {
      const who = socket.remoteAddress ?? ''
      const open = (this.perAddress.get(who) ?? 0) + 1
      if (open > this.opts.maxConnectionsPerAddress) { socket.destroy(); return }
      this.perAddress.set(who, open)
      socket.once('close', () => { const n = (this.perAddress.get(who) ?? 1) - 1; if (n <= 0) this.perAddress.delete(who); else this.perAddress.set(who, n) })
    }
    const c = new ClientConnection(socket, this.ctx)
    this.clients.add(c)
    socket.once('close', () => { this.clients.delete(c); if (this.clients.size === 0) this.emptied?.() })
    if (this.timer == null) {
      // How often the bounds are checked: they hold to within this.
      this.timer = setInterval(() => { this.sweep() }, Math.min(2_000, this.opts.headersTimeoutMs))
      this.timer.unref()
    }
  }

  private sweep (): void {
    const now = performance.now()
    for (const c of this.clients) {
      const r = c.readingSince()
      if (r != null && now - r.at > (r.head ? this.opts.headersTimeoutMs : this.opts.requestTimeoutMs)) { c.timedOut(); continue }
      const idle = c.idleSince()
      if (idle >= 0 && now - idle > this.opts.keepAliveTimeoutMs) c.socket.destroy()
    }
  }

  /** Stops accepting; idle connections close now, busy ones after their response; all are cut after drainMs. */
  async stop (drainMs: number): Promise<void> {
    if (this.timer != null) clearInterval(this.timer)
    this.timer = null
    const closed = new Promise<void>((resolve) => { this.server.close(() => { resolve() }) })
    for (const c of this.clients) {
      if (c.idleSince() >= 0 || c.tunnelled) c.socket.destroy()
      else c.closing = true
    }
    const cut = setTimeout(() => { for (const c of this.clients) c.socket.destroy() }, drainMs)
    await closed
    // Connections handed over by accept() are not the listening server's: they are waited for too.
    if (this.clients.size > 0) await new Promise<void>((resolve) => { this.emptied = resolve })
    clearTimeout(cut)
  }
}
