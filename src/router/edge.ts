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
  const raw = req.rawHeaders
  let found = false
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === 'host') { raw[i + 1] = t.host; found = true }
  if (!found) raw.push('Host', t.host)
}
