// Whether an exported genome still holds its commit's tree, cheaply and again and again: what a cell runs is watched
// (files the tree names; a function's own files beside them are not), changed files are written back from the
// verified objects, and the tree id of what is on disk is what a cell tells its peers it runs.
import { createHash } from 'node:crypto'
import { lstat, mkdir, readFile, readlink, rm, symlink, writeFile, chmod } from 'node:fs/promises'
import { watch } from 'node:fs'
import type { FSWatcher } from 'node:fs'
import { dirname, join } from 'node:path'
import { blobId, listTree, readBlobs } from './export.ts'
import type { TreeEntry } from './export.ts'
import { objectFormat } from './mirror.ts'

/** One path as found on disk: its mode as git writes it and its blob id, or null when it is missing or no file. */
interface Seen { readonly key: string, readonly mode: string, readonly oid: string | null }

export interface IntegrityReport {
  /** Paths of the tree whose bytes, mode or kind on disk are not the commit's (missing ones included). */
  readonly drifted: readonly string[]
  /** git's tree id of what is on disk (the commit's tree id when nothing drifted). */
  readonly tree: string
}

/**
 * git's id of the tree holding these entries (flat paths): tree objects built bottom-up, names in git's order
 * (a subtree sorts as if its name ended in "/"). Pure.
 */
export function treeIdOf (format: string, entries: readonly TreeEntry[]): string {
  const hash = (type: string, body: Buffer): Buffer => createHash(format).update(`${type} ${body.length}\0`).update(body).digest()
  type Dir = Map<string, { mode: string, oid: Buffer } | Dir>
  const root: Dir = new Map()
  for (const e of entries) {
    const names = e.path.split('/')
    let dir = root
    for (const n of names.slice(0, -1)) {
      let next = dir.get(n)
      if (next == null || !(next instanceof Map)) { next = new Map(); dir.set(n, next) }
      dir = next
    }
    dir.set(names[names.length - 1], { mode: e.mode, oid: Buffer.from(e.oid, 'hex') })
  }
  const build = (dir: Dir): Buffer => {
    const items = [...dir].map(([name, v]) => v instanceof Map ? { name, sortName: `${name}/`, mode: '40000', oid: build(v) } : { name, sortName: name, mode: v.mode, oid: v.oid })
    items.sort((a, b) => Buffer.compare(Buffer.from(a.sortName), Buffer.from(b.sortName)))
    return hash('tree', Buffer.concat(items.flatMap((i) => [Buffer.from(`${i.mode} ${i.name}\0`), i.oid])))
  }
  return build(root).toString('hex')
}

/**
 * Watches one export of one commit. Each check stats every path the tree names and hashes again only those whose
 * inode, size or change time moved since the last look (a change time cannot be set back by a process that writes
 * the file), so a check of an unchanged genome reads no file.
 */
export class ExportWatch {
  private readonly seen = new Map<string, Seen>()
  private readonly mirror: string
  readonly commit: string
  private readonly dir: string
  private readonly format: string
  private readonly entries: readonly TreeEntry[]
  private constructor (mirror: string, commit: string, dir: string, format: string, entries: readonly TreeEntry[]) {
    this.mirror = mirror; this.commit = commit; this.dir = dir; this.format = format; this.entries = entries
  }

  static async open (mirror: string, commit: string, dir: string): Promise<ExportWatch> {
    return new ExportWatch(mirror, commit, dir, await objectFormat(mirror), await listTree(mirror, commit))
  }

  /**
   * Calls `changed` soon after anything under the export changes (inotify through fs.watch), so that a check need
   * not wait for its next turn. Returns the way to stop. Where the watch cannot be set up (no inotify, too many
   * watches), nothing is called and the periodic check alone finds changes.
   */
  onChange (changed: () => void): () => void {
    // One watch per directory of the tree, not a recursive one: Node's recursive watch on Linux is JavaScript that
    // stats what it sees and throws, uncaught, when a file goes away meanwhile (nodejs/node#52018); a cell must not
    // die because something was deleted in its export.
    const dirs = new Set<string>([''])
    for (const e of this.entries) {
      const parts = e.path.split('/')
      for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'))
    }
    const watchers: FSWatcher[] = []
    for (const d of dirs) {
      try {
        const w = watch(join(this.dir, d), { persistent: false }, () => { changed() })
        w.on('error', () => { w.close() })
        watchers.push(w)
      } catch { /* a directory missing now: the periodic check finds it */ }
    }
    return () => { for (const w of watchers) w.close() }
  }

  /** The commit's own tree id: what an intact export reports. */
  expectedTree (): string { return treeIdOf(this.format, this.entries) }

  async check (): Promise<IntegrityReport> {
    const drifted: string[] = []
    const found: TreeEntry[] = []
    for (const e of this.entries) {
      const s = await this.look(e)
      if (s.oid == null || s.mode !== e.mode || s.oid !== e.oid) drifted.push(e.path)
      // A missing file is an empty one in the digest: still a tree, and never the commit's.
      found.push({ path: e.path, mode: s.mode, oid: s.oid ?? blobId(this.format, Buffer.alloc(0)) })
    }
    return { drifted, tree: treeIdOf(this.format, found) }
  }

  /**
   * Writes the commit's bytes back at these paths. A directory on the way that is no directory any more (a symlink
   * put there) is removed first: nothing is written through a link.
   */
  async restore (paths: readonly string[]): Promise<void> {
    const wanted = this.entries.filter((e) => paths.includes(e.path))
    const blobs = await readBlobs(this.mirror, [...new Set(wanted.map((e) => e.oid))])
    for (const e of wanted) {
      const names = e.path.split('/')
      for (let i = 1; i < names.length; i++) {
        const d = join(this.dir, ...names.slice(0, i))
        const st = await lstat(d).catch(() => null)
        if (st != null && !st.isDirectory()) await rm(d, { recursive: true, force: true })
        if (st == null || !st.isDirectory()) await mkdir(d)
      }
      const target = join(this.dir, e.path)
      await rm(target, { recursive: true, force: true })
      await mkdir(dirname(target), { recursive: true })
      const content = blobs.get(e.oid) ?? Buffer.alloc(0)
      if (e.mode === '120000') await symlink(content.toString('utf8'), target)
      else { await writeFile(target, content, { flag: 'wx' }); await chmod(target, e.mode === '100755' ? 0o755 : 0o644) }
      this.seen.delete(e.path)
    }
  }

  private async look (e: TreeEntry): Promise<Seen> {
    const path = join(this.dir, e.path)
    const st = await lstat(path, { bigint: true }).catch(() => null)
    if (st == null) { this.seen.delete(e.path); return { key: '', mode: e.mode, oid: null } }
    const key = `${st.ino}:${st.size}:${st.ctimeNs}:${st.mode}`
    const before = this.seen.get(e.path)
    if (before?.key === key) return before
    let s: Seen
    if (st.isSymbolicLink()) s = { key, mode: '120000', oid: blobId(this.format, Buffer.from(await readlink(path), 'utf8')) }
    else if (st.isFile()) s = { key, mode: (st.mode & 0o111n) !== 0n ? '100755' : '100644', oid: blobId(this.format, await readFile(path)) }
    else s = { key, mode: '40000', oid: null }
    this.seen.set(e.path, s)
    return s
  }
}
