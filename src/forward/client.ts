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
  /** How the last request to each cell went: for status and tests. */
  path: (cell: string) => 'tls' | 'member' | 'unknown'
  /** Why the last request to cell went over the member link, if it did. */
  why: (cell: string) => string | null
}

export function forwardConnector (o: ConnectorOptions): Connector {
  const now = o.now ?? Date.now
  const offers = new Map<string, { offer: Promise<PskOffer>, got?: PskOffer }>()
  const closedUntil = new Map<string, number>()
  // How the last request to each cell went, and why not over TLS when it did not.
  const paths = new Map<string, { path: 'tls' | 'member', why?: string }>()
  // Concurrent requests share one key; a key that failed is replaced once, not once per request (each new key
  // retires an older one at the owner, and a burst of them would retire the keys the others are using).
  const ticket = async (cell: string, failed: PskOffer | null): Promise<PskOffer> => {
    const cur = offers.get(cell)
    if (cur != null && (failed == null || cur.got == null || cur.got !== failed)) return await cur.offer
    const next: { offer: Promise<PskOffer>, got?: PskOffer } = { offer: o.ticket(cell) }
    offers.set(cell, next)
    next.offer.then((got) => { next.got = got }, () => { if (offers.get(cell) === next) offers.delete(cell) })
    return await next.offer
  }
  const tls = async (cell: string, offer: PskOffer): Promise<Duplex> => {
    const sock = await connectPsk(offer, o.connectMs ?? 3000)
    sock.setNoDelay(true)
    paths.set(cell, { path: 'tls' })
    return sock
  }
  return {
    open: async (cell) => {
      if ((closedUntil.get(cell) ?? 0) > now()) return await o.member(cell)
      let offer: PskOffer | null = null
      try {
        offer = await ticket(cell, null)
        return await tls(cell, offer)
      } catch {
        // The key may be stale (the owner restarted): one more try with a new one before the member link.
        try { return await tls(cell, await ticket(cell, offer)) } catch (err) {
          // A closed port (or a cell without one) is left alone for a while; a slow one is tried again soon.
          const refused = (err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED' || offer == null
          closedUntil.set(cell, now() + (refused ? (o.retryMs ?? 30_000) : 5000))
          paths.set(cell, { path: 'member', why: (err as Error).message })
          log.info('the forwarding port of a cell cannot be reached; its requests go over the member link for now', { cell, refused, err: (err as Error).message })
          return await o.member(cell)
        }
      }
    },
    path: (cell) => paths.get(cell)?.path ?? 'unknown',
    why: (cell) => paths.get(cell)?.why ?? null
  }
}
