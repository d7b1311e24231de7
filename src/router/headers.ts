// Header rewriting for proxying (pure): drop hop-by-hop headers, add X-Forwarded-*, keep the client's Host.

/** Per RFC 9110 §7.6.1 these describe one connection, not the message; expect is answered by the router itself. */
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect'])
const FORWARDED = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'])
/** RFC 9110 §9.2.2: sending these twice has the effect of sending them once. */
export const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])
/** Set by a router that forwards a request to another cell's (remote.ts): between routers only, never passed on to a function. */
export const HOP_HEADER = 'x-organism-hop'

/** Extra header names a Connection header marks as hop-by-hop ("Connection: close, X-Foo"). */
export function connectionTokens (value: string): Set<string> | null {
  const v = value.toLowerCase()
  if (v === 'keep-alive' || v === 'close' || v === 'upgrade') return null // the common case allocates nothing
  const out = new Set<string>()
  for (const t of v.split(',')) { const s = t.trim(); if (s.length > 0) out.add(s) }
  return out
}

export interface ForwardInfo {
  readonly remoteAddress: string
  readonly proto: 'http' | 'https'
}

/**
 * Builds the upstream header list (flat [name, value, …]) from Node's rawHeaders.
 * upgrade = true keeps Connection/Upgrade so that a WebSocket handshake reaches the function.
 */
export function forwardRequestHeaders (raw: readonly string[], info: ForwardInfo, upgrade = false): string[] {
  let xff: string | null = null
  let host: string | null = null
  let extra: Set<string> | null = null
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase()
    if (name === 'connection') extra = connectionTokens(raw[i + 1])
    else if (name === 'x-forwarded-for') xff = xff == null ? raw[i + 1] : `${xff}, ${raw[i + 1]}`
    else if (name === 'host') host = raw[i + 1]
  }
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase()
    if (HOP_BY_HOP.has(name) || FORWARDED.has(name) || name === HOP_HEADER) continue
    // "Connection: host" cannot take the Host away (it names no hop-by-hop header).
    if (extra != null && extra.has(name) && name !== 'host') continue
    out.push(raw[i], raw[i + 1])
  }
  const addr = info.remoteAddress.startsWith('::ffff:') ? info.remoteAddress.slice(7) : info.remoteAddress
  out.push('x-forwarded-for', xff == null ? addr : `${xff}, ${addr}`, 'x-forwarded-proto', info.proto)
  if (host != null) out.push('x-forwarded-host', host)
  if (upgrade) {
    const up = raw.findIndex((v, i) => i % 2 === 0 && v.toLowerCase() === 'upgrade')
    out.push('connection', 'Upgrade', 'upgrade', up >= 0 ? raw[up + 1] : 'websocket')
  }
  return out
}

/**
 * Response headers for the client, from undici's raw [name, value, …] buffers to a flat string list for writeHead:
 * the upstream's headers in order (repeated ones such as Set-Cookie kept apart), minus hop-by-hop ones (Node adds its own framing).
 */
export function forwardRawResponseHeaders (raw: readonly Buffer[]): string[] {
  const out: string[] = []
  let extra: Set<string> | null = null
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1')
    const lower = name.toLowerCase()
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') extra = connectionTokens(raw[i + 1].toString('latin1'))
      continue
    }
    out.push(name, raw[i + 1].toString('latin1'))
  }
  if (extra == null) return out
  // "Connection: X-Foo" makes X-Foo hop-by-hop too; it may come before or after the Connection header.
  const kept: string[] = []
  for (let i = 0; i < out.length; i += 2) if (!extra.has(out[i].toLowerCase())) kept.push(out[i], out[i + 1])
  return kept
}
