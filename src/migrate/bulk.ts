// The bulk side path of a move: a one-shot TLS 1.3 server keyed with a fresh pre-shared key that travels only over the
// member stream (Noise-encrypted, peer-authenticated). The data then runs through OpenSSL's AES-GCM in 16 KB records
// instead of libp2p's per-message ciphers, which cap a member stream at about half of what the link carries.
import tls from 'node:tls'
import type { TLSSocket } from 'node:tls'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { once } from 'node:events'
import { isOrganismError } from '../core/errors.ts'
import { logger } from '../core/log.ts'
import { migrateError } from './errors.ts'

const log = logger('migrate:bulk')

/** What the receiver tells the sender over the member stream; the key goes nowhere else. */
export interface BulkOffer { host: string, port: number, identity: string, psk: string }

export interface BulkServer {
  readonly offer: BulkOffer
  /** The first connection that proved the key; rejects after timeoutMs or once the server is closed. */
  accepted: (timeoutMs: number) => Promise<TLSSocket>
  /** Stops listening; an accepted connection stays open for its owner to finish. */
  close: () => void
}

// No certificates, only an external PSK: a peer without the key cannot finish a handshake. Both suites hash with
// SHA-256, which a TLS 1.3 external PSK requires; AES-GCM first because these hosts have AES-NI.
const TLS_OPTS = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256' } as const
const PSK_BYTES = 32

/** Opens the one-shot server on an ephemeral port of bindHost and returns the offer naming advertise as its host. */
export async function openBulkServer (opts: { bindHost: string, advertise: string, handshakeMs?: number }): Promise<BulkServer> {
  const psk = randomBytes(PSK_BYTES)
  const identity = randomBytes(16).toString('hex')
  const want = Buffer.from(identity)
  const server = tls.createServer({
    ...TLS_OPTS,
    // A stranger that opens the port and stalls is cut off soon; it must not hold a socket for the default 120 s.
    handshakeTimeout: opts.handshakeMs ?? 5000,
    pskCallback: (_socket, id) => {
      const got = Buffer.from(id)
      return got.length === want.length && timingSafeEqual(got, want) ? psk : null
    }
  })
  // A failed handshake (no key, wrong key, not TLS at all): Node has already closed that socket; the server waits on.
  server.on('tlsClientError', (err) => { log.debug('refused a connection without the key', { err: err.message }) })
  let closed = false
  let take: ((s: TLSSocket) => void) | null = null
  let fail: ((e: Error) => void) | null = null
  const first = new Promise<TLSSocket>((resolve, reject) => { take = resolve; fail = reject })
  first.catch(() => {}) // nobody may ever ask for it (the sender chose the member stream)
  const close = (): void => {
    if (closed) return
    closed = true
    server.close()
    fail?.(migrateError('MIGRATE_TRUNCATED', 'the bulk server closed before the sender connected'))
  }
  server.on('secureConnection', (sock: TLSSocket) => {
    // Exactly one connection: the first that proves the key takes the server; it stops listening at once.
    if (closed) { sock.destroy(); return }
    sock.on('error', () => { /* reported by whoever reads or writes it */ })
    take?.(sock)
    take = null
    close()
  })
  server.listen(0, opts.bindHost)
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => { throw err as Error })])
  const port = (server.address() as { port: number }).port
  return {
    offer: { host: opts.advertise, port, identity, psk: psk.toString('base64') },
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
export function parseOffer (value: unknown): BulkOffer | null {
  if (value == null || typeof value !== 'object') return null
  const o = value as Record<string, unknown>
  if (typeof o.host !== 'string' || o.host === '' || typeof o.identity !== 'string' || typeof o.psk !== 'string') return null
  if (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 1 || o.port > 65535) return null
  if (Buffer.from(o.psk, 'base64').length !== PSK_BYTES) return null
  return { host: o.host, port: o.port, identity: o.identity, psk: o.psk }
}

/** Connects to an offer with its key; fails with MIGRATE_BULK_UNREACHABLE when no handshake completes in timeoutMs. */
export async function connectBulk (offer: BulkOffer, timeoutMs = 2000): Promise<TLSSocket> {
  const psk = Buffer.from(offer.psk, 'base64')
  const sock = tls.connect({
    ...TLS_OPTS,
    host: offer.host,
    port: offer.port,
    pskCallback: () => ({ psk, identity: offer.identity }),
    // The server has no certificate; the key is what authenticates it.
    checkServerIdentity: () => undefined
  })
  sock.on('error', () => { /* reported below or by whoever writes it */ })
  const where = `${offer.host}:${offer.port}`
  const timer = setTimeout(() => sock.destroy(migrateError('MIGRATE_BULK_UNREACHABLE', `no TLS handshake with ${where} within ${timeoutMs} ms`)), timeoutMs)
  try {
    await once(sock, 'secureConnect')
    return sock
  } catch (err) {
    sock.destroy()
    throw isOrganismError(err) ? err : migrateError('MIGRATE_BULK_UNREACHABLE', `cannot open the bulk path to ${where}: ${(err as Error).message}`, { cause: err })
  } finally {
    clearTimeout(timer)
  }
}
