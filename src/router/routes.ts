// The route table (pure): which function serves a Host header and path. No I/O, no clock.
import { isIPv4, isIPv6 } from 'node:net'
import { routerError } from './errors.ts'

export interface RouteEntry {
  readonly function: string
  /** Domain the function answers for; matched case-insensitively, without port or trailing dot. */
  readonly domain: string
  /** Optional path prefix ("/api"); matched on a segment boundary and passed upstream unchanged. */
  readonly pathPrefix: string | null
}

export interface RouteTable {
  /** host (normalised) -> entries, longest prefix first; a null prefix (catch-all) comes last. */
  readonly byHost: ReadonlyMap<string, readonly RouteEntry[]>
}

export type RouteMatch =
  | { kind: 'match', entry: RouteEntry }
  | { kind: 'bad-host', reason: string }
  | { kind: 'no-route', host: string }

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/
const PORT = /^[0-9]{1,5}$/

/** Checks a lower-cased host without port or trailing dot; returns why it is malformed, or null. */
function hostProblem (host: string): string | null {
  if (host.length === 0) return 'empty host'
  if (host.startsWith('[')) {
    if (!host.endsWith(']')) return 'unclosed IPv6 literal'
    return isIPv6(host.slice(1, -1)) ? null : 'invalid IPv6 literal'
  }
  if (host.length > 253) return 'host name longer than 253 characters'
  if (isIPv4(host)) return null
  for (const label of host.split('.')) {
    if (!LABEL.test(label)) return label.length === 0 ? 'empty label in host name' : `invalid label "${label.slice(0, 64)}" in host name`
  }
  return null
}

/** Lower-cases and strips a trailing dot; for table domains (no port allowed). */
function normaliseDomain (domain: string): string {
  const d = domain.trim().toLowerCase()
  return d.endsWith('.') ? d.slice(0, -1) : d
}

function normalisePrefix (prefix: string | null): string | null {
  if (prefix == null) return null
  let p = prefix.trim()
  while (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1)
  return p === '/' || p === '' ? null : p
}

/** Builds the table; throws ROUTER_INVALID_ROUTE or ROUTER_ROUTE_CONFLICT. Domains are stored lower-case. */
export function buildRouteTable (entries: readonly RouteEntry[]): RouteTable {
  const byHost = new Map<string, RouteEntry[]>()
  for (const e of entries) {
    const domain = normaliseDomain(e.domain)
    const problem = hostProblem(domain)
    if (problem != null) throw routerError('ROUTER_INVALID_ROUTE', `function ${e.function}: domain "${e.domain}" is invalid: ${problem}`, { details: { function: e.function, domain: e.domain } })
    const pathPrefix = normalisePrefix(e.pathPrefix)
    if (pathPrefix != null && (!pathPrefix.startsWith('/') || /[?#\s]/.test(pathPrefix))) {
      throw routerError('ROUTER_INVALID_ROUTE', `function ${e.function}: pathPrefix "${e.pathPrefix ?? ''}" must start with "/" and contain no "?", "#" or spaces`, { details: { function: e.function } })
    }
    const list = byHost.get(domain) ?? []
    const clash = list.find((x) => x.pathPrefix === pathPrefix)
    if (clash != null) {
      throw routerError('ROUTER_ROUTE_CONFLICT', `functions ${clash.function} and ${e.function} both claim ${domain}${pathPrefix ?? ''}`, { details: { domain, pathPrefix } })
    }
    list.push({ function: e.function, domain, pathPrefix })
    byHost.set(domain, list)
  }
  for (const list of byHost.values()) list.sort((a, b) => (b.pathPrefix?.length ?? -1) - (a.pathPrefix?.length ?? -1))
  return { byHost }
}

/** Splits "host:port" / "[v6]:port"; returns the host part or a reason it is malformed. */
function stripPort (raw: string): { host: string } | { reason: string } {
  if (raw.startsWith('[')) {
    const close = raw.indexOf(']')
    if (close < 0) return { reason: 'unclosed IPv6 literal' }
    const rest = raw.slice(close + 1)
    if (rest.length > 0 && !(rest.startsWith(':') && PORT.test(rest.slice(1)) && Number(rest.slice(1)) <= 65535)) return { reason: 'invalid port' }
    return { host: raw.slice(0, close + 1) }
  }
  const colon = raw.indexOf(':')
  if (colon < 0) return { host: raw }
  const port = raw.slice(colon + 1)
  if (!PORT.test(port) || Number(port) > 65535) return { reason: port.includes(':') ? 'bare IPv6 address (use [brackets])' : 'invalid port' }
  return { host: raw.slice(0, colon) }
}

function prefixMatches (prefix: string, path: string): boolean {
  if (!path.startsWith(prefix)) return false
  if (path.length === prefix.length) return true
  const next = path.charCodeAt(prefix.length)
  return next === 47 /* / */ || next === 63 /* ? */ || next === 35 /* # */
}

/** Matches a request; path is the request target as received (query included). */
export function matchRoute (table: RouteTable, hostHeader: string | undefined, path: string): RouteMatch {
  if (hostHeader == null || hostHeader.length === 0) return { kind: 'bad-host', reason: 'missing Host header' }
  const split = stripPort(hostHeader.toLowerCase())
  if ('reason' in split) return { kind: 'bad-host', reason: split.reason }
  let host = split.host
  if (host.endsWith('.')) host = host.slice(0, -1)
  const list = table.byHost.get(host)
  if (list == null) {
    // Only a miss pays for validation: every host in the table is already valid.
    const problem = hostProblem(host)
    return problem != null ? { kind: 'bad-host', reason: problem } : { kind: 'no-route', host }
  }
  for (const entry of list) {
    if (entry.pathPrefix == null || prefixMatches(entry.pathPrefix, path)) return { kind: 'match', entry }
  }
  return { kind: 'no-route', host }
}

/** Every function named in the table, for metrics and status. */
export function functionsIn (table: RouteTable): string[] {
  const out = new Set<string>()
  for (const list of table.byHost.values()) for (const e of list) out.add(e.function)
  return [...out]
}
