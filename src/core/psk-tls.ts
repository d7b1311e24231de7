// TLS 1.3 keyed by external pre-shared keys, for the cell-to-cell paths that carry bulk bytes (a move's data, a
// replica's batches, forwarded requests): no certificates; a key travels only over the member link (Noise-encrypted,
// peer-authenticated), so a peer without it cannot finish a handshake. OpenSSL's AES-GCM then carries the bytes,
// well above what libp2p's per-message ciphers give a member stream.
import tls from 'node:tls'
import type { TLSSocket } from 'node:tls'
import { timingSafeEqual } from 'node:crypto'
import { once } from 'node:events'
import { logger } from './log.ts'

const log = logger('psk-tls')

/** Where and with which key to connect: what a server's side sends over the member link. */
export interface PskOffer { host: string, port: number, identity: string, psk: string }

// Both suites hash with SHA-256, which a TLS 1.3 external PSK requires; AES-GCM first because these hosts have AES-NI.
const TLS_OPTS = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256' } as const
export const PSK_BYTES = 32

export interface PskServer {
  readonly port: number
  close: () => void
}

/**
 * Listens on an ephemeral port of bindHost; `keyOf` gives the key of an identity it knows (or null: refused), and
 * `onSecure` gets each connection that proved its key, with the identity it used.
 */
export async function openPskServer (opts: { bindHost: string, handshakeMs?: number, keyOf: (identity: string) => Buffer | null, onSecure: (sock: TLSSocket, identity: string) => void }): Promise<PskServer> {
  const identities = new WeakMap<TLSSocket, string>()
  const server = tls.createServer({
    ...TLS_OPTS,
    // A stranger that opens the port and stalls is cut off soon; it must not hold a socket for the default 120 s.
    handshakeTimeout: opts.handshakeMs ?? 5000,
    pskCallback: (socket, id) => {
      const key = opts.keyOf(id)
      if (key != null) identities.set(socket, id)
      return key
    }
  })
  // A failed handshake (no key, wrong key, not TLS at all): Node has already closed that socket; the server waits on.
  server.on('tlsClientError', (err) => { log.debug('refused a connection without a key', { err: err.message }) })
  server.on('secureConnection', (sock: TLSSocket) => {
    sock.on('error', () => { /* reported by whoever reads or writes it */ })
    const id = identities.get(sock)
    if (id == null) { sock.destroy(); return }
    opts.onSecure(sock, id)
  })
  server.listen(0, opts.bindHost)
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => { throw err as Error })])
  return { port: (server.address() as { port: number }).port, close: () => { server.close() } }
}

/** Compares identities in constant time (the key lookup of a one-key server). */
export function sameIdentity (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** Checks an offer from the wire: a member sent it, but a malformed one must fail here, not inside tls. */
export function parsePskOffer (value: unknown): PskOffer | null {
  if (value == null || typeof value !== 'object') return null
  const o = value as Record<string, unknown>
  if (typeof o.host !== 'string' || o.host === '' || typeof o.identity !== 'string' || typeof o.psk !== 'string') return null
  if (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 1 || o.port > 65535) return null
  if (Buffer.from(o.psk, 'base64').length !== PSK_BYTES) return null
  return { host: o.host, port: o.port, identity: o.identity, psk: o.psk }
}

/** Connects with an offer's key; rejects (plain Error, with `where`) when no handshake completes in timeoutMs. */
export async function connectPsk (offer: PskOffer, timeoutMs = 2000): Promise<TLSSocket> {
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
  const timer = setTimeout(() => sock.destroy(new Error(`no TLS handshake with ${where} within ${timeoutMs} ms`)), timeoutMs)
  try {
    await once(sock, 'secureConnect')
    return sock
  } catch (err) {
    sock.destroy()
    throw new Error(`cannot open a TLS path to ${where}: ${(err as Error).message}`, { cause: err })
  } finally {
    clearTimeout(timer)
  }
}
