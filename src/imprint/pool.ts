// The host pool, pure: ssh:// URLs, pinned host keys (known_hosts line or SHA256 fingerprint), YAML pool files.
import { createHash } from 'node:crypto'
import { parse as parseYaml, stringify } from 'yaml'
import { imprintError } from './errors.ts'

export interface HostAddress {
  readonly user: string
  readonly host: string
  readonly port: number
}

export interface PoolHost extends HostAddress {
  readonly url: string
  /** The pinned key as an OpenSSH fingerprint "SHA256:…" (a known_hosts line is reduced to it). */
  readonly fingerprint: string
  readonly labels: Readonly<Record<string, string>>
}

export function parseHostUrl (url: string): HostAddress {
  const m = /^ssh:\/\/([^@/\s]+)@(\[[0-9a-fA-F:.]+\]|[^:/\s]+)(?::(\d+))?\/?$/.exec(url.trim())
  if (m == null) throw imprintError('IMPRINT_HOST_URL', `not an ssh://user@host[:port] URL: "${url}"`)
  const port = m[3] == null ? 22 : Number(m[3])
  if (port < 1 || port > 65535) throw imprintError('IMPRINT_HOST_URL', `port out of range in "${url}"`)
  return { user: decodeURIComponent(m[1]), host: m[2].replace(/^\[|\]$/g, ''), port }
}

export function formatHostUrl (h: HostAddress): string {
  const host = h.host.includes(':') ? `[${h.host}]` : h.host
  return `ssh://${encodeURIComponent(h.user)}@${host}${h.port === 22 ? '' : `:${h.port}`}`
}

/** OpenSSH's SHA256 fingerprint of a raw public key blob (what sshd sends, what known_hosts holds in base64). */
export function fingerprintOf (blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')
}

/** A pin, "SHA256:…" or a known_hosts line ("[host]:port ssh-ed25519 AAAA…", or just "ssh-ed25519 AAAA…"), as a fingerprint. */
export function parsePin (pin: string): string {
  const text = pin.trim()
  if (/^SHA256:[A-Za-z0-9+/]{43}$/.test(text)) return text
  const parts = text.split(/\s+/)
  const at = parts.findIndex((p) => /^(ssh-|ecdsa-|sk-)/.test(p))
  const blob = at >= 0 ? parts[at + 1] : undefined
  if (blob == null || !/^[A-Za-z0-9+/]+=*$/.test(blob)) throw imprintError('IMPRINT_HOST_PIN', `not a known_hosts line nor a SHA256 fingerprint: "${text.slice(0, 80)}"`)
  return fingerprintOf(Buffer.from(blob, 'base64'))
}

function poolEntry (raw: unknown, where: string): PoolHost {
  const entry = typeof raw === 'string' ? { url: raw } : raw
  if (entry == null || typeof entry !== 'object') throw imprintError('IMPRINT_POOL_INVALID', `${where}: expected a mapping with url and hostKey`)
  const e = entry as Record<string, unknown>
  if (typeof e.url !== 'string') throw imprintError('IMPRINT_POOL_INVALID', `${where}: url is missing`)
  if (typeof e.hostKey !== 'string') throw imprintError('IMPRINT_POOL_INVALID', `${where}: hostKey is missing for ${e.url} (hosts are only used with a pinned key)`)
  const labels: Record<string, string> = {}
  if (e.labels != null) {
    if (typeof e.labels !== 'object' || Array.isArray(e.labels)) throw imprintError('IMPRINT_POOL_INVALID', `${where}: labels must be a mapping`)
    for (const [k, v] of Object.entries(e.labels)) labels[k] = String(v)
  }
  const addr = parseHostUrl(e.url)
  return { ...addr, url: formatHostUrl(addr), fingerprint: parsePin(e.hostKey), labels }
}

/** Parses a hosts file: a YAML list (or `hosts:` holding one) of { url, hostKey, labels? }. */
export function parsePool (text: string, file = 'hosts.yaml'): PoolHost[] {
  let doc: unknown
  try { doc = parseYaml(text) } catch (err) { throw imprintError('IMPRINT_POOL_INVALID', `${file}: ${(err as Error).message}`, { cause: err }) }
  if (doc == null) return []
  const list = Array.isArray(doc) ? doc : (doc as { hosts?: unknown }).hosts
  if (!Array.isArray(list)) throw imprintError('IMPRINT_POOL_INVALID', `${file}: expected a list of hosts`)
  return list.map((raw, i) => poolEntry(raw, `${file}[${i}]`))
}

/** The genome's pool and the state dir's pool, one entry per URL (the private file wins: it is the operator's latest word). */
export function mergePools (genome: readonly PoolHost[], local: readonly PoolHost[]): PoolHost[] {
  const byUrl = new Map<string, PoolHost>()
  for (const h of [...genome, ...local]) byUrl.set(h.url, h)
  return [...byUrl.values()]
}

export function formatPool (hosts: readonly PoolHost[]): string {
  return stringify(hosts.map((h) => ({ url: h.url, hostKey: h.fingerprint, ...(Object.keys(h.labels).length > 0 ? { labels: h.labels } : {}) })))
}
