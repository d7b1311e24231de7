// The owner's side of fast forwarding: one long-lived TLS 1.3 port whose keys are handed out, a few per member
// cell, over the member link; each connection that proves a key goes straight into this cell's router (no loopback
// hop), which serves it as it serves the member stream: from local functions only.
import type { TLSSocket } from 'node:tls'
import { randomBytes } from 'node:crypto'
import { openPskServer, PSK_BYTES } from '../core/psk-tls.ts'
import type { PskOffer } from '../core/psk-tls.ts'

export interface ForwardServer {
  /** A fresh key for `peer` (a member, as the member link authenticated it); its last few stay valid. */
  ticket: (peer: string) => PskOffer
  /** Stops listening and closes every forwarded connection. */
  close: () => void
}

/** Keys kept per peer: the newest and a few before (connections opened with them may still be made). */
const KEYS_PER_PEER = 4

export async function openForwardServer (opts: { bindHost: string, advertise: string, accept: (sock: TLSSocket, peer: string) => void }): Promise<ForwardServer> {
  const keys = new Map<string, { psk: Buffer, peer: string }>()
  const byPeer = new Map<string, string[]>()
  const open = new Set<TLSSocket>()
  const server = await openPskServer({
    bindHost: opts.bindHost,
    keyOf: (identity) => keys.get(identity)?.psk ?? null,
    onSecure: (sock, identity) => {
      const peer = keys.get(identity)?.peer
      if (peer == null) { sock.destroy(); return }
      // Requests arrive in small writes: Nagle's algorithm with delayed acks would hold each one ~40 ms.
      sock.setNoDelay(true)
      open.add(sock)
      sock.once('close', () => { open.delete(sock) })
      opts.accept(sock, peer)
    }
  })
  return {
    ticket: (peer) => {
      const identity = randomBytes(16).toString('hex')
      const psk = randomBytes(PSK_BYTES)
      keys.set(identity, { psk, peer })
      const mine = [...(byPeer.get(peer) ?? []), identity]
      while (mine.length > KEYS_PER_PEER) keys.delete(mine.shift() as string)
      byPeer.set(peer, mine)
      return { host: opts.advertise, port: server.port, identity, psk: psk.toString('base64') }
    },
    close: () => {
      server.close()
      for (const s of open) s.destroy()
      open.clear()
      keys.clear()
      byPeer.clear()
    }
  }
}
