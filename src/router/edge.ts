// What the edge trusts of a request (pure): an absolute-form target names the host (RFC 9112 §3.2.2, over Host),
// and the internal hop header counts only on links from member cells (or from this host itself).
import type { IncomingMessage } from 'node:http'
export { isLoopback } from '../core/net-names.ts'

/** For "http://host[:port]/path?q" the host and the origin-form path; null for an origin-form target. */
export function absoluteTarget (url: string): { host: string, path: string } | null {
  if (!/^https?:\/\//i.test(url)) return null
  let u: URL
  try { u = new URL(url) } catch { return null }
  return { host: u.host, path: `${u.pathname}${u.search}` }
}

/** Rewrites an absolute-form request to origin-form with the target's host as Host (parsed and raw headers alike). */
export function normalizeTarget (req: IncomingMessage): void {
  const t = absoluteTarget(req.url ?? '/')
  if (t == null) return
  req.url = t.path
  req.headers.host = t.host
  setHostHeader(req.rawHeaders, t.host)
}

/** Sets every Host in a flat [name, value, …] header list to `host` (adds one if there is none). */
export function setHostHeader (headers: string[], host: string): void {
  let found = false
  for (let i = 0; i < headers.length; i += 2) if (headers[i].toLowerCase() === 'host') { headers[i + 1] = host; found = true }
  if (!found) headers.push('Host', host)
}
