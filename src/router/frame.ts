// Message heads for the byte-level data path (pure): the head sent upstream for a client's request, the head sent to
// the client for an upstream's response, and the framing of each body (length, chunked, or to the close).
import { STATUS_CODES } from 'node:http'
import { forwardRequestHeaders, connectionTokens, HOP_BY_HOP, HOP_HEADER } from './headers.ts'
import type { ForwardInfo } from './headers.ts'
import type { Head } from './h1.ts'

/** How a body travels: as many bytes as Content-Length says, in chunks, until the connection closes, or not at all. */
export type Framing = 'none' | 'length' | 'chunked' | 'close'

/** The request body's framing from its parsed head; null for a Transfer-Encoding other than plain chunked. */
export function requestFraming (headers: readonly string[]): { framing: Framing, length: number } | null {
  let framing: Framing = 'none'
  let length = 0
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i]
    if (n.length === 17 && n.toLowerCase() === 'transfer-encoding') {
      // llhttp already refused "chunked" anywhere but last; a coding before it (gzip, chunked) would reach the
      // function undecoded under our chunked framing, so it is refused instead (RFC 9112 §6.1: 501).
      if (headers[i + 1].trim().toLowerCase() !== 'chunked') return null
      framing = 'chunked'
    } else if (n.length === 14 && framing === 'none' && n.toLowerCase() === 'content-length') {
      length = Number(headers[i + 1])
      framing = length > 0 ? 'length' : 'none'
    }
  }
  return { framing, length }
}

const framingHeader = (framing: Framing, length: number): string =>
  framing === 'chunked' ? 'transfer-encoding: chunked\r\n' : framing === 'length' ? `content-length: ${length}\r\n` : ''

/**
 * The head for a function's process: hop-by-hop headers out, X-Forwarded-* in, HTTP/1.1 keep-alive, the body framed
 * as the client framed it. Header values come from llhttp, which refuses CR, LF and NUL in them.
 */
export function upstreamHead (head: Head, url: string, info: ForwardInfo, framing: Framing, length: number, hop?: string): string {
  const h = forwardRequestHeaders(head.headers, info, head.upgrade)
  let out = `${head.method} ${url} HTTP/1.1\r\n`
  for (let i = 0; i < h.length; i += 2) out += `${h[i]}: ${h[i + 1]}\r\n`
  // To another cell's router: the hop header says a member sent it (the owner serves it, never forwards it on).
  if (hop != null) out += `${HOP_HEADER}: ${hop}\r\n`
  // Content-Length passes as the client sent it (llhttp checked it); Transfer-Encoding is hop-by-hop and written anew.
  return out + (framing === 'chunked' ? 'transfer-encoding: chunked\r\n' : '') + '\r\n'
}

/** Headers that describe the connection or the body's framing: the data path writes its own. */
const CONNECTION_SCOPED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'content-length', 'expect', 'upgrade'])

/**
 * The head for the router's own node:http handler (the paths that need it: other cells, holds, the live map): the
 * client's headers as they came, re-framed, so that it judges the request exactly as it would have from the client.
 */
export function handlerHead (head: Head, url: string, framing: Framing, length: number): string {
  let out = `${head.method} ${url} HTTP/1.1\r\n`
  const hs = head.headers
  for (let i = 0; i < hs.length; i += 2) {
    const name = hs[i].toLowerCase()
    if (CONNECTION_SCOPED.has(name) && !(head.upgrade && (name === 'upgrade' || name === 'connection'))) continue
    out += `${hs[i]}: ${hs[i + 1]}\r\n`
  }
  return out + framingHeader(framing, length) + '\r\n'
}

export interface ResponsePlan {
  /** The head to write to the client. */
  head: string
  /** How the body goes to the client. */
  framing: Framing
  /** The client connection closes after this response. */
  close: boolean
  /** What the upstream's Keep-Alive header allows for reusing its connection, in ms (null: it said nothing). */
  upstreamIdleMs: number | null
}


/**
 * The client's response head from the upstream's. A body with a length keeps it; one the upstream chunked or ran to
 * its close is chunked to an HTTP/1.1 client and runs to the close for an HTTP/1.0 one. `bodiless`: a HEAD's answer,
 * 1xx, 204 and 304 carry none whatever their headers say (their Content-Length is metadata and is passed on).
 */
export function clientHead (res: Head, bodiless: boolean, clientMinor: number, clientKeepAlive: boolean, served?: string): ResponsePlan {
  const status = res.status
  let out = `HTTP/1.1 ${status} ${res.reason !== '' ? res.reason : STATUS_CODES[status] ?? ''}\r\n`
  let hasLength = false
  let upstreamIdleMs: number | null = null
  let extra: Set<string> | null = null
  const hs = res.headers
  for (let i = 0; i < hs.length; i += 2) {
    const n = hs[i].toLowerCase()
    if (n === 'connection') {
      extra = connectionTokens(hs[i + 1])
    } else if (n === 'keep-alive') {
      const m = /timeout\s*=\s*(\d+)/i.exec(hs[i + 1])
      if (m != null) upstreamIdleMs = Number(m[1]) * 1000
    } else if (n === 'content-length') hasLength = true
  }
  for (let i = 0; i < hs.length; i += 2) {
    const n = hs[i].toLowerCase()
    if (HOP_BY_HOP.has(n) || n === HOP_HEADER || (extra != null && extra.has(n))) continue
    out += `${hs[i]}: ${hs[i + 1]}\r\n`
  }
  if (served != null) out += `x-organism-served: ${served}\r\n`
  const framing: Framing = bodiless ? 'none' : hasLength ? 'length' : clientMinor >= 1 ? 'chunked' : 'close'
  const close = !clientKeepAlive || framing === 'close'
  if (framing === 'chunked') out += 'transfer-encoding: chunked\r\n'
  if (close) out += 'connection: close\r\n'
  else if (clientMinor === 0) out += 'connection: keep-alive\r\n'
  return { head: out + '\r\n', framing, close, upstreamIdleMs }
}

const CRLF = Buffer.from('\r\n')
export const LAST_CHUNK = Buffer.from('0\r\n\r\n')

/** One chunk of a chunked body, as the three buffers to write (no copy of the data). */
export function chunkParts (data: Buffer): [Buffer, Buffer, Buffer] {
  return [Buffer.from(data.length.toString(16) + '\r\n', 'latin1'), data, CRLF]
}
