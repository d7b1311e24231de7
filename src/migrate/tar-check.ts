// What a received data dir may hold, checked on the tar bytes as they arrive, before tar sees them: regular files,
// directories and symlinks that stay inside it (relative, no ".."), no hard links, devices or fifos, no
// setuid/setgid/sticky bits, no path outside the folder, and no more file bytes than the cap. Pure: chunks in, the
// first reason to refuse out. Reads the ustar, GNU (long names) and pax (path, linkpath, size) forms GNU tar writes.
import { migrateError } from './errors.ts'

const BLOCK = 512

interface Pending { path?: string, linkpath?: string, size?: number }

/** A header's numeric field: octal text, or GNU's base-256 for big sizes (high bit of the first byte set). */
function numberField (b: Buffer): number {
  if ((b[0] & 0x80) !== 0) {
    let n = b[0] & 0x7f
    for (let i = 1; i < b.length; i++) n = n * 256 + b[i]
    return n
  }
  const text = b.toString('latin1').replace(/[\0 ]+$/g, '').trim()
  return text === '' ? 0 : parseInt(text, 8)
}

const cString = (b: Buffer): string => { const z = b.indexOf(0); return b.subarray(0, z < 0 ? b.length : z).toString('utf8') }

/** pax records: "len key=value\n" */
function paxRecords (body: Buffer): Map<string, string> {
  const out = new Map<string, string>()
  let at = 0
  while (at < body.length) {
    const sp = body.indexOf(0x20, at)
    if (sp < 0) break
    const len = Number(body.subarray(at, sp).toString('latin1'))
    if (!Number.isInteger(len) || len <= 0) break
    const rec = body.subarray(sp + 1, at + len - 1).toString('utf8')
    const eq = rec.indexOf('=')
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1))
    at += len
  }
  return out
}

/** Why a member's path is not a plain path inside the folder, or null. */
function badPath (path: string): string | null {
  const p = path.replace(/^(\.\/)+/, '').replace(/\/+$/, '')
  if (p === '' || p === '.') return null
  if (path.startsWith('/')) return 'is absolute'
  if (p.split('/').some((n) => n === '..')) return 'climbs out with ".."'
  return null
}

export interface TarCheck {
  /** Feeds the next bytes; throws MIGRATE_DATA_REFUSED at the first member that may not land. */
  push: (chunk: Buffer) => void
  /** Bytes of regular files seen so far. */
  fileBytes: () => number
}

/** maxFileBytes: the cap on the sum of regular files' sizes (null: none). */
export function tarChecker (maxFileBytes: number | null): TarCheck {
  let buf: Buffer = Buffer.alloc(0)
  let skip = 0 // body bytes (with padding) of the current member still to pass
  let meta: { kind: 'L' | 'K' | 'x', left: number, size: number, parts: Buffer[] } | null = null
  let pending: Pending = {}
  let files = 0
  let ended = false
  const refuse = (path: string, why: string): never => {
    throw migrateError('MIGRATE_DATA_REFUSED', `the received data holds "${path}", which ${why}; the whole copy is refused`, { details: { path } })
  }
  const header = (h: Buffer): void => {
    if (h.every((x) => x === 0)) { ended = true; return }
    const type = String.fromCharCode(h[156] === 0 ? 0x30 : h[156])
    const extended = type === 'L' || type === 'K' || type === 'x' || type === 'g'
    // A pax size applies to the member after it, never to another extended header.
    const size = extended ? numberField(h.subarray(124, 136)) : pending.size ?? numberField(h.subarray(124, 136))
    const name = cString(h.subarray(0, 100))
    // POSIX ustar ("ustar\0") has a name prefix there; GNU's own format ("ustar  ") keeps other fields in those bytes.
    const prefix = h.subarray(257, 263).toString('latin1') === 'ustar\0' ? cString(h.subarray(345, 500)) : ''
    const path = pending.path ?? (prefix !== '' ? `${prefix}/${name}` : name)
    const link = pending.linkpath ?? cString(h.subarray(157, 257))
    const padded = Math.ceil(size / BLOCK) * BLOCK
    if (type === 'L' || type === 'K' || type === 'x') { meta = { kind: type, left: padded, size, parts: [] }; return }
    if (type === 'g') { skip = padded; return }
    pending = {}
    const where = badPath(path)
    if (where != null) refuse(path, where)
    const mode = numberField(h.subarray(100, 108))
    if ((mode & 0o7000) !== 0) refuse(path, `has the setuid, setgid or sticky bit (mode ${mode.toString(8)})`)
    if (type === '0' || type === '7') {
      files += size
      if (maxFileBytes != null && files > maxFileBytes) refuse(path, `takes the files past the cap of ${maxFileBytes} bytes`)
      skip = padded
    } else if (type === '5') {
      skip = 0
    } else if (type === '2') {
      if (link.startsWith('/') || link.split('/').some((n) => n === '..')) refuse(path, `is a symlink out of the folder (to ${link})`)
    } else {
      const what: Record<string, string> = { 1: 'is a hard link', 3: 'is a character device', 4: 'is a block device', 6: 'is a fifo' }
      refuse(path, what[type] ?? `is of tar type "${type}", not a file or a directory`)
    }
  }
  const endMeta = (): void => {
    if (meta == null) return
    const body = Buffer.concat(meta.parts).subarray(0, meta.size)
    if (meta.kind === 'L') pending.path = cString(body)
    else if (meta.kind === 'K') pending.linkpath = cString(body)
    else {
      const r = paxRecords(body)
      if (r.has('path')) pending.path = r.get('path')
      if (r.has('linkpath')) pending.linkpath = r.get('linkpath')
      if (r.has('size')) pending.size = Number(r.get('size'))
    }
    meta = null
  }
  return {
    fileBytes: () => files,
    push: (chunk) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
      let at = 0
      while (!ended) {
        if (skip > 0) {
          const n = Math.min(skip, buf.length - at)
          skip -= n; at += n
          if (skip > 0) break
          continue
        }
        if (meta != null) {
          const n = Math.min(meta.left, buf.length - at)
          if (meta.parts.reduce((s, p) => s + p.length, 0) + n > 1024 * 1024) refuse('(a long name or pax header)', 'is over 1 MiB')
          meta.parts.push(buf.subarray(at, at + n)); meta.left -= n; at += n
          if (meta.left > 0) break
          endMeta()
          continue
        }
        if (buf.length - at < BLOCK) break
        header(buf.subarray(at, at + BLOCK))
        at += BLOCK
      }
      buf = ended ? Buffer.alloc(0) : Buffer.from(buf.subarray(at))
    }
  }
}
