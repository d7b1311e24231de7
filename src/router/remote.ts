// Requests for a function that another cell owns: HTTP/1.1 over a byte stream to that cell's router (the peer link).
import { request as httpRequest } from 'node:http'
import type { IncomingMessage, ServerResponse, OutgoingHttpHeaders } from 'node:http'
import type { Duplex } from 'node:stream'
import { pipeline } from 'node:stream/promises'

/** Marks a request that already crossed one peer link: the receiving router serves it locally or fails, never forwards again. */
export const HOP_HEADER = 'x-organism-hop'

export interface RemoteUpstream {
  readonly kind: 'remote'
  /** Names the owner cell in errors and logs. */
  readonly cell: string
  /** Opens a fresh byte stream to the owner's router. */
  readonly open: () => Promise<Duplex>
}

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'])

function forwardHeaders (req: IncomingMessage, self: string, extra: Record<string, string>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  for (const [k, v] of Object.entries(req.headers)) if (!hopByHop.has(k) && v != null) out[k] = v
  Object.assign(out, extra)
  out[HOP_HEADER] = self
  return out
}

/**
 * Streams the request to the owner and its answer back. The remote router already added the function's
 * X-Forwarded-* view; we pass the client's own so it is not lost at the second hop.
 */
export async function forwardRequest (up: RemoteUpstream, req: IncomingMessage, res: ServerResponse, self: string, forwarded: Record<string, string>, onError: (err: Error) => void): Promise<void> {
  let link: Duplex
  try { link = await up.open() } catch (err) { onError(err as Error); return }
  const outgoing = httpRequest({
    method: req.method,
    path: req.url,
    headers: forwardHeaders(req, self, forwarded),
    // No agent: Node uses createConnection only when none is given (agent: false would dial port 80).
    createConnection: () => link as never
  })
  outgoing.on('response', (answer) => {
    const headers: OutgoingHttpHeaders = {}
    for (const [k, v] of Object.entries(answer.headers)) if (!hopByHop.has(k) && v != null) headers[k] = v
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, headers)
    pipeline(answer, res).catch(() => { link.destroy() })
  })
  outgoing.on('error', (err) => {
    link.destroy()
    if (!res.headersSent) onError(err)
    else res.destroy(err)
  })
  res.on('close', () => { if (!res.writableFinished) { outgoing.destroy(); link.destroy() } })
  pipeline(req, outgoing).catch(() => { link.destroy() })
}

/** An Upgrade (WebSocket) to a remote owner: the head is written as received, then bytes flow both ways. */
export async function tunnelRemote (up: RemoteUpstream, req: IncomingMessage, client: Duplex, head: Buffer, self: string, forwarded: Record<string, string>, onError: (err: Error) => void): Promise<void> {
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
