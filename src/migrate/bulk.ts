// The bulk side path of a move: a one-shot TLS 1.3 server keyed with a fresh pre-shared key that travels only over the
// member stream (Noise-encrypted, peer-authenticated). The data then runs through OpenSSL's AES-GCM in 16 KB records
// instead of libp2p's per-message ciphers, which cap a member stream at about half of what the link carries.
import type { TLSSocket } from 'node:tls'
import { randomBytes } from 'node:crypto'
import { openPskServer, connectPsk, parsePskOffer, sameIdentity, PSK_BYTES } from '../core/psk-tls.ts'
import type { PskOffer } from '../core/psk-tls.ts'
import { migrateError } from './errors.ts'

/** What the receiver tells the sender over the member stream; the key goes nowhere else. */
export type BulkOffer = PskOffer

export interface BulkServer {
  readonly offer: BulkOffer
  /** The first connection that proved the key; rejects after timeoutMs or once the server is closed. */
  accepted: (timeoutMs: number) => Promise<TLSSocket>
  /** Stops listening; an accepted connection stays open for its owner to finish. */
  close: () => void
}

/** Opens the one-shot server on an ephemeral port of bindHost and returns the offer naming advertise as its host. */
export async function openBulkServer (opts: { bindHost: string, advertise: string, handshakeMs?: number }): Promise<BulkServer> {
  const psk = randomBytes(PSK_BYTES)
  const identity = randomBytes(16).toString('hex')
  let closed = false
  let take: ((s: TLSSocket) => void) | null = null
  let fail: ((e: Error) => void) | null = null
  const first = new Promise<TLSSocket>((resolve, reject) => { take = resolve; fail = reject })
  first.catch(() => {}) // nobody may ever ask for it (the sender chose the member stream)
  const server = await openPskServer({
    bindHost: opts.bindHost,
    handshakeMs: opts.handshakeMs,
    keyOf: (id) => sameIdentity(id, identity) ? psk : null,
    onSecure: (sock) => {
      // Exactly one connection: the first that proves the key takes the server; it stops listening at once.
      if (closed) { sock.destroy(); return }
      take?.(sock)
      take = null
      close()
    }
  })
  const close = (): void => {
    if (closed) return
    closed = true
    server.close()
    fail?.(migrateError('MIGRATE_TRUNCATED', 'the bulk server closed before the sender connected'))
  }
  return {
    offer: { host: opts.advertise, port: server.port, identity, psk: psk.toString('base64') },
    accepted: async (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(migrateError('MIGRATE_TRUNCATED', `the sender did not connect to the bulk port within ${timeoutMs} ms`)), timeoutMs)
      })
      try { return await Promise.race([first, late]) } finally { clearTimeout(timer); close() }
    },
    close
  }
}

/** Checks an offer from the wire: a member sent it, but a malformed one must fail here, not inside tls. */
export const parseOffer = parsePskOffer

/** Connects to an offer with its key; fails with MIGRATE_BULK_UNREACHABLE when no handshake completes in timeoutMs. */
export async function connectBulk (offer: BulkOffer, timeoutMs = 2000): Promise<TLSSocket> {
  try {
    return await connectPsk(offer, timeoutMs)
  } catch (err) {
    throw migrateError('MIGRATE_BULK_UNREACHABLE', (err as Error).message, { cause: err })
  }
}
