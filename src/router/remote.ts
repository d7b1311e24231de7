// Requests for a function that another cell owns: HTTP/1.1 over a byte stream to that cell's router (the peer link).
import net from 'node:net'
import { request as httpRequest } from 'node:http'
import type { IncomingMessage, ServerResponse, OutgoingHttpHeaders } from 'node:http'
import type { Duplex } from 'node:stream'
import type { RemoteLinks } from './links.ts'
import { HOP_HEADER, IDEMPOTENT } from './headers.ts'

/** Marks a request that already crossed one peer link: the receiving router serves it locally or fails, never forwards again. */
export { HOP_HEADER }

export interface RemoteUpstream {
  readonly kind: 'remote'
  /** Names the owner cell in errors and logs, and keys its pool of streams. */
  readonly cell: string
  /** Opens a fresh byte stream to the owner's router. */
  readonly open: () => Promise<Duplex>
  /** Sent back to the cell that forwarded it here (it owns the function now): marked so that it goes no further. */
  readonly bounce?: boolean
}

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'])
/** A stream from the pool may have died unseen; a few tries reach a live or a fresh one. */
const MAX_ATTEMPTS = 3

function forwardHeaders (req: IncomingMessage, self: string, extra: Record<string, string>, bounce: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  for (const [k, v] of Object.entries(req.headers)) if (!hopByHop.has(k) && v != null) out[k] = v
  Object.assign(out, extra)
  out[HOP_HEADER] = bounce ? `${self} back` : self
  return out
}

function hasBody (req: IncomingMessage): boolean {
  const cl = req.headers['content-length']
  return req.headers['transfer-encoding'] != null || (cl != null && cl !== '0')
}

/**
 * Streams the request to the owner and its answer back, on a pooled keep-alive stream. The remote router already
 * adds the function's X-Forwarded-* view; we pass the client's own so it is not lost at the second hop.
 * A pooled stream that turns out broken before any answer is retried only when that cannot run the request twice:
 * a bodiless idempotent request, or one of which nothing was written (the stream was found dead when handed out).
 */
/**
 * `onError`'s `retryable`: no answer came and sending the request again cannot run it twice (nothing of it was
 * written, or it is bodiless and idempotent): another instance of a function on several cells may take it.
 */
export function forwardRequest (links: RemoteLinks, up: RemoteUpstream, req: IncomingMessage, res: ServerResponse, self: string, forwarded: Record<string, string>, onError: (err: Error, retryable: boolean) => void): void {
  const headers = forwardHeaders(req, self, forwarded, up.bounce === true)
  const bodyless = !hasBody(req)
  const replayable = bodyless && IDEMPOTENT.has(req.method ?? 'GET')
  const agent = links.agent(up.cell, up.open)
  let current: ReturnType<typeof httpRequest> | null = null
  res.on('close', () => { if (!res.writableFinished) current?.destroy() })

  const attempt = (n: number): void => {
    let sent = false
    let answered = false
    const outgoing = httpRequest({ method: req.method, path: req.url, headers, agent })
    current = outgoing
    outgoing.on('socket', (link: Duplex) => {
      // Nothing is written before this point, so a stream that died while idle costs no part of the request.
      if (link.destroyed || !link.writable) { outgoing.destroy(new Error('pooled peer-link stream was closed')); return }
      sent = true
      if (bodyless) return
      req.pipe(outgoing)
      req.on('error', () => { outgoing.destroy() })
    })
    outgoing.on('response', (answer) => {
      answered = true
      const out: OutgoingHttpHeaders = {}
      for (const [k, v] of Object.entries(answer.headers)) if (!hopByHop.has(k) && v != null) out[k] = v
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, out)
      // pipe, not pipeline: pipeline builds an AbortController (and a DOMException) per call, a cost on every request.
      // A client that leaves is handled by res 'close' above; an answer cut short cuts the client's connection.
      answer.pipe(res)
      answer.on('error', (err) => { res.destroy(err) })
    })
    outgoing.on('error', (err) => {
      if (!answered && !res.destroyed && outgoing.reusedSocket && (replayable || !sent) && n < MAX_ATTEMPTS) { attempt(n + 1); return }
      if (!res.headersSent) onError(err, !answered && (replayable || !sent))
      else res.destroy(err)
    })
    // Buffered until a stream is assigned, and written only if it passes the check above.
    if (bodyless) outgoing.end()
  }
  attempt(1)
}

/** An Upgrade (WebSocket) to a remote owner: the head is written as received, then bytes flow both ways. */
export async function tunnelRemote (up: RemoteUpstream, req: IncomingMessage, client: Duplex, head: Buffer, self: string, forwarded: Record<string, string>, onError: (err: Error) => void): Promise<void> {
  // A fresh stream, not a pooled one: after the upgrade it carries the tunnel's bytes until either side closes.
  let link: Duplex
  try { link = await up.open() } catch (err) { onError(err as Error); return }
  const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`]
  for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
  for (const [k, v] of Object.entries(forwarded)) lines.push(`${k}: ${v}`)
  lines.push(`${HOP_HEADER}: ${self}`, '', '')
  link.write(lines.join('\r\n'))
  if (head.length > 0) link.write(head)
  const done = (): void => { client.destroy(); link.destroy() }
  client.pipe(link).on('error', done)
  link.pipe(client).on('error', done)
  client.on('close', done)
  link.on('close', done)
}

/**
 * The owner's side: a stream from another cell becomes a connection to our own router, which serves the requests
 * on it one after another (keep-alive) from local functions only. No Nagle: requests arrive in small writes.
 */
export function serveLink (stream: Duplex, routerPort: number, routerHost?: string, trust?: (localPort: number) => () => void): void {
  // The router's own address: on a loopback host (127.0.x.y) another cell may hold the same port on 127.0.0.1.
  const host = routerHost == null || routerHost === '0.0.0.0' || routerHost === '::' ? '127.0.0.1' : routerHost
  const local = net.connect({ port: routerPort, host, noDelay: true })
  // The router learns that this connection is a member's link before it reads a byte of it (its hop header counts).
  let untrust = (): void => {}
  local.once('connect', () => { if (trust != null && local.localPort != null) untrust = trust(local.localPort) })
  local.once('close', () => { untrust() })
  const done = (): void => { stream.destroy(); local.destroy() }
  stream.pipe(local).on('error', done)
  local.pipe(stream).on('error', done)
  stream.on('error', done)
  local.on('error', done)
}
