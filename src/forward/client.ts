// The forwarding side: a byte stream to another cell's router for the router's keep-alive pool. Over the owner's TLS
// port when it can be reached (a key asked for once over the member link), else over a member stream; a port found
// closed is not tried again for a while, so that requests do not each pay a connect timeout.
import type { Duplex } from 'node:stream'
import { logger } from '../core/log.ts'
import { connectPsk } from '../core/psk-tls.ts'
import type { PskOffer } from '../core/psk-tls.ts'

const log = logger('forward')

export interface ConnectorOptions {
  /** Asks `cell` for a key to its forwarding port (over the member link). */
  ticket: (cell: string) => Promise<PskOffer>
  /** A stream to `cell`'s router over the member link: the way when its port cannot be reached. */
  member: (cell: string) => Promise<Duplex>
  now?: () => number
  /** How long a cell whose port failed is reached over the member link only (default 30 s). */
  retryMs?: number
  connectMs?: number
}

export interface Connector {
  open: (cell: string) => Promise<Duplex>
  /** How each cell is reached now: for status and tests. */
  path: (cell: string) => 'tls' | 'member' | 'unknown'
}

export function forwardConnector (o: ConnectorOptions): Connector {
  const now = o.now ?? Date.now
  const offers = new Map<string, Promise<PskOffer>>()
  const closedUntil = new Map<string, number>()
  const ticket = (cell: string, fresh: boolean): Promise<PskOffer> => {
    let p = fresh ? undefined : offers.get(cell)
    if (p == null) {
      p = o.ticket(cell)
      offers.set(cell, p)
      p.catch(() => { if (offers.get(cell) === p) offers.delete(cell) })
    }
    return p
  }
  const tls = async (cell: string, fresh: boolean): Promise<Duplex> => {
    const sock = await connectPsk(await ticket(cell, fresh), o.connectMs ?? 1500)
    sock.setNoDelay(true)
    return sock
  }
  return {
    open: async (cell) => {
      if ((closedUntil.get(cell) ?? 0) > now()) return await o.member(cell)
      try {
        return await tls(cell, false)
      } catch {
        // The key may be stale (the owner restarted): one more try with a new one before the member link.
        try { return await tls(cell, true) } catch (err) {
          offers.delete(cell)
          closedUntil.set(cell, now() + (o.retryMs ?? 30_000))
          log.info('the forwarding port of a cell cannot be reached; its requests go over the member link for now', { cell, err: (err as Error).message })
          return await o.member(cell)
        }
      }
    },
    path: (cell) => (closedUntil.get(cell) ?? 0) > now() ? 'member' : offers.has(cell) ? 'tls' : 'unknown'
  }
}
