// What a data dir holds (path, type, size, times), and what changed between two looks (pure): a live move copies the
// whole dir while the function serves, then, once it is stopped, only what the second look finds changed.
import { lstat, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { migrateError } from './errors.ts'

export type EntryType = 'file' | 'dir' | 'link'
export interface Entry { readonly path: string, readonly type: EntryType, readonly size: number, readonly mtimeMs: number, readonly ino: number, readonly mode: number }
export interface Manifest { readonly takenAt: number, readonly entries: ReadonlyMap<string, Entry> }
/** What the receiver checks its copy against: every path with its type and size. */
export type Expected = Array<[path: string, type: EntryType, size: number]>

/** More entries than this and a move goes cold (the list itself would be a large frame). */
export const MAX_ENTRIES = 20_000
/**
 * A file whose mtime is this close to the first look may have been written again within the same timestamp tick
 * after it (coarse kernel clocks): it is sent again whatever its figures say (git's "racy" files, rsync's window).
 */
export const RACY_MS = 2000

/** Walks dir (not following symlinks); null when it holds more than MAX_ENTRIES. */
export async function manifestOf (dir: string, now: number): Promise<Manifest | null> {
  const entries = new Map<string, Entry>()
  const walk = async (rel: string): Promise<boolean> => {
    // A directory removed between its listing and this look is simply not there (the second look tells).
    const names = await readdir(join(dir, rel)).catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT' && rel !== '') return []; throw err })
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`
      // A file the function removed (or renamed over) between the listing and this look: the second look tells.
      const st = await lstat(join(dir, path)).catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return null; throw err })
      if (st == null) continue
      const type: EntryType = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : 'file'
      entries.set(path, { path, type, size: type === 'dir' ? 0 : st.size, mtimeMs: st.mtimeMs, ino: st.ino, mode: st.mode })
      if (entries.size > MAX_ENTRIES) return false
      if (type === 'dir' && !await walk(path)) return false
    }
    return true
  }
  return await walk('') ? { takenAt: now, entries } : null
}

/**
 * What to send after the function stopped: entries new or changed since the first look, or written close to it
 * (parents before children); and what to delete (children before parents).
 */
export function deltaOf (before: Manifest, after: Manifest, racyMs = RACY_MS): { send: string[], deleted: string[] } {
  const send: string[] = []
  for (const [path, e] of after.entries) {
    const was = before.entries.get(path)
    const changed = was == null || was.type !== e.type || was.size !== e.size || was.mtimeMs !== e.mtimeMs || was.ino !== e.ino || was.mode !== e.mode
    const racy = e.type !== 'dir' && e.mtimeMs >= before.takenAt - racyMs
    if (changed || racy) send.push(path)
  }
  const deleted = [...before.entries.keys()].filter((p) => !after.entries.has(p))
  const depth = (p: string): number => p.split('/').length
  return { send: send.sort((a, b) => depth(a) - depth(b) || a.localeCompare(b)), deleted: deleted.sort((a, b) => depth(b) - depth(a) || a.localeCompare(b)) }
}

export const expectedOf = (m: Manifest): Expected => [...m.entries.values()].map((e) => [e.path, e.type, e.size])

/** A relative path inside the dir: no empty, `.` or `..` part, not absolute. */
export function insidePath (p: unknown): p is string {
  return typeof p === 'string' && p.length > 0 && p.length < 4096 && !p.startsWith('/') && !p.includes('\0') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
}

/** Removes what the sender deleted since the first look; a path that would leave dir is refused. */
export async function applyDeletions (dir: string, deleted: unknown): Promise<void> {
  if (!Array.isArray(deleted) || deleted.length > MAX_ENTRIES) throw migrateError('MIGRATE_PROTOCOL', 'the list of deleted files is not a list, or too long')
  for (const p of deleted) {
    if (!insidePath(p)) throw migrateError('MIGRATE_DATA_REFUSED', `the sender asked to delete ${JSON.stringify(p)}, which is not a path inside the data dir`)
    await rm(join(dir, ...p.split('/')), { recursive: true, force: true })
  }
}

/** Why dir does not hold exactly the expected entries (null: it does). */
export async function manifestMismatch (dir: string, expected: unknown): Promise<string | null> {
  if (!Array.isArray(expected) || expected.length > MAX_ENTRIES) return 'the sender\'s list of files is not a list, or too long'
  const got = await manifestOf(dir, 0)
  if (got == null) return `the copy holds more than ${MAX_ENTRIES} entries`
  const want = new Map<string, [EntryType, number]>()
  for (const e of expected) {
    if (!Array.isArray(e) || !insidePath(e[0])) return `the sender listed ${JSON.stringify(e)}`
    want.set(e[0], [e[1] as EntryType, Number(e[2])])
  }
  for (const [path, [type, size]] of want) {
    const e = got.entries.get(path)
    if (e == null) return `${path} is missing`
    if (e.type !== type || (type === 'file' && e.size !== size)) return `${path} is a ${e.type} of ${e.size} bytes here, a ${type} of ${size} bytes at the sender`
  }
  for (const path of got.entries.keys()) if (!want.has(path)) return `${path} is here but not at the sender`
  return null
}
