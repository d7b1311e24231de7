// Upgrade requests (WebSocket): replay the request head on a raw TCP connection to the function, then pipe bytes both ways.
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { forwardRequestHeaders } from './headers.ts'
import type { ForwardInfo } from './headers.ts'
import { routerError } from './errors.ts'
import { rawPage } from './pages.ts'

export interface TunnelEnd {
  /** Status from the upstream's first response line (101 normally), 502 if it never answered, 0 if the client left first. */
  status: number
  bytesIn: number
  bytesOut: number
}

/** Builds the request head exactly once; the header values come from Node's parser, so they hold no CR/LF. */
export function requestHead (req: IncomingMessage, info: ForwardInfo): string {
  const h = forwardRequestHeaders(req.rawHeaders, info, true)
  let out = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1\r\n`
  for (let i = 0; i < h.length; i += 2) out += `${h[i]}: ${h[i + 1]}\r\n`
  return out + '\r\n'
}

function parseStatus (chunk: Buffer): number {
  // "HTTP/1.1 101 ..." — the status sits at bytes 9..11.
  const s = Number(chunk.toString('latin1', 9, 12))
  return Number.isInteger(s) ? s : 0
}

/**
 * Opens the tunnel; `sockets` tracks both ends so that stop() can cut them.
 * Calls onEnd once, when both sides are closed.
 */
export function tunnel (req: IncomingMessage, client: Duplex, head: Buffer, port: number, fn: string, info: ForwardInfo,
  connectTimeoutMs: number, sockets: Set<Duplex>, onEnd: (end: TunnelEnd) => void, idleMs = 600_000): void {
  const upstream: Socket = connect({ port, host: '127.0.0.1' })
  sockets.add(client); sockets.add(upstream)
  const end: TunnelEnd = { status: 0, bytesIn: 0, bytesOut: 0 }
  let answered = false
  let finished = false
  const finish = (): void => {
    if (finished) return
    finished = true
    sockets.delete(client); sockets.delete(upstream)
    client.destroy(); upstream.destroy()
    onEnd(end)
  }
  let failed = false
  const fail = (err: Error & { code?: string }): void => {
    if (failed) return
    failed = true
    if (client.writable) {
      end.status = 502
      const page = rawPage(502, routerError('ROUTER_UPSTREAM_FAILED', `The function "${fn}" did not accept the upgrade: ${err.code ?? err.message}.`))
      end.bytesOut += Buffer.byteLength(page)
      client.end(page)
    }
    upstream.destroy()
    // Let the page reach the client before the socket is cut; the timer bounds the wait.
    setTimeout(finish, 1000).unref()
  }
  upstream.setTimeout(connectTimeoutMs, () => { if (!answered) fail(new Error('timed out')) })
  upstream.on('error', (err) => { if (!answered) fail(err); else finish() })
  upstream.once('close', () => {
    if (!answered) { fail(new Error('connection closed before an answer')); return }
    client.end()
    setTimeout(finish, 1000).unref()
  })
  client.once('close', finish)
  client.on('error', finish)
  upstream.once('connect', () => {
    // Every byte either way passes the upstream socket: silence there for idleMs ends an abandoned tunnel.
    upstream.setTimeout(idleMs, () => { if (answered) finish() })
    upstream.setNoDelay(true)
    upstream.write(requestHead(req, info))
    if (head.length > 0) upstream.write(head)
    upstream.once('data', (chunk: Buffer) => {
      answered = true
      end.status = parseStatus(chunk)
    })
    upstream.on('data', (chunk: Buffer) => { end.bytesOut += chunk.length })
    client.on('data', (chunk: Buffer) => { end.bytesIn += chunk.length })
    upstream.pipe(client)
    client.pipe(upstream)
  })
}
