// The data path's streams to other cells' routers: long-lived per owner cell (a TLS connection to its forwarding
// port, or a member-link stream where that port cannot be reached), each carrying HTTP/1.1 requests one after
// another with keep-alive, parsed and relayed at byte level like a local function's connection.
import type { Duplex } from 'node:stream'
import { UpstreamPool } from './conns.ts'
import type { UpstreamConn, UpstreamPoolOptions } from './conns.ts'
import type { RemoteUpstream } from './remote.ts'

export class LinkPool {
  /** How to open a stream to each cell: the latest upstream's (its closure may have changed). */
  private readonly openers = new Map<string, () => Promise<Duplex>>()
  readonly pool: UpstreamPool<string>

  constructor (opts: UpstreamPoolOptions) {
    this.pool = new UpstreamPool<string>(opts, async (cell) => {
      const open = this.openers.get(cell)
      if (open == null) throw new Error(`no way to reach ${cell}`)
      const stream = await open()
      ;(stream as Duplex & { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true)
      return stream
    })
  }

  acquire (up: RemoteUpstream, done: (err: Error | null, conn: UpstreamConn | null) => void): void {
    this.openers.set(up.cell, up.open)
    this.pool.acquire(up.cell, done)
  }
}
