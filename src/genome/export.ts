// Writes the exact tree of one commit into a directory (bytes from git's object store, no attributes or filters
// applied), refusing any tree that would write outside it; and checks that a directory still holds that tree.
import { createHash } from 'node:crypto'
import { chmod, lstat, mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { genomeError } from './errors.ts'
import { git, gitMust } from './git.ts'

export interface TreeEntry { readonly mode: string, readonly oid: string, readonly path: string }

/** Tree entries of a commit (files, executables, symlinks); submodules (mode 160000) have no content here. */
export async function listTree (repo: string, commit: string): Promise<TreeEntry[]> {
  const r = await git(repo, ['ls-tree', '-r', '-z', '--full-tree', commit])
  if (r.code !== 0) throw genomeError('GENOME_GIT_FAILED', `git ls-tree ${commit} failed: ${r.stderr.trim()}`)
  return r.stdout.toString('utf8').split('\0').filter(l => l !== '').map(l => {
    const tab = l.indexOf('\t')
    const [mode, , oid] = l.slice(0, tab).split(' ')
    return { mode, oid, path: l.slice(tab + 1) }
  }).filter(e => e.mode !== '160000')
}

/** Contents of many blobs from one `git cat-file --batch`. */
export async function readBlobs (repo: string, oids: readonly string[]): Promise<Map<string, Buffer>> {
  const r = await git(repo, ['cat-file', '--batch'], { input: oids.map(o => `${o}\n`).join('') })
  if (r.code !== 0) throw genomeError('GENOME_GIT_FAILED', `git cat-file --batch failed: ${r.stderr.trim()}`)
  const out = new Map<string, Buffer>()
  const buf = r.stdout
  let at = 0
  while (at < buf.length) {
    const nl = buf.indexOf(0x0a, at)
    const [oid, type, size] = buf.subarray(at, nl).toString('latin1').split(' ')
    if (type !== 'blob') throw genomeError('GENOME_GIT_FAILED', `object ${oid} is ${type ?? 'missing'}, expected a blob`)
    const start = nl + 1
    out.set(oid, buf.subarray(start, start + Number(size)))
    at = start + Number(size) + 1
  }
  return out
}

/**
 * The paths of a tree that stay inside its folder: every name a plain one (no "", ".", "..", ".git"), no path twice,
 * none below a file or a symlink of the same tree (writing it would follow the link). git's fsck refuses such trees
 * when they are copied into the cell's store; this holds even for a store filled some other way.
 */
export function assertTreeInside (commit: string, entries: readonly TreeEntry[]): void {
  const refuse = (path: string, why: string): never => {
    throw genomeError('GENOME_TREE_UNSAFE', `commit ${commit.slice(0, 12)} has a tree entry "${path}" that ${why}: exporting it would write outside the genome's folder`, { details: { commit, path } })
  }
  const leaves = new Set<string>()
  for (const e of entries) {
    if (e.path.split('/').some((n) => n === '' || n === '.' || n === '..' || n.toLowerCase() === '.git')) refuse(e.path, 'is not a plain path')
    if (leaves.has(e.path)) refuse(e.path, 'appears twice')
    leaves.add(e.path)
  }
  for (const e of entries) {
    const names = e.path.split('/')
    for (let i = 1; i < names.length; i++) {
      const above = names.slice(0, i).join('/')
      if (leaves.has(above)) refuse(e.path, `lies below the file or symlink ${above}`)
    }
  }
}

export async function exportCommit (repo: string, commit: string, dest: string): Promise<void> {
  const entries = await listTree(repo, commit)
  assertTreeInside(commit, entries)
  const blobs = await readBlobs(repo, [...new Set(entries.map(e => e.oid))])
  await mkdir(dest, { recursive: true })
  for (const e of entries) {
    const target = join(dest, e.path)
    await mkdir(dirname(target), { recursive: true })
    const content = blobs.get(e.oid) ?? Buffer.alloc(0)
    if (e.mode === '120000') {
      await symlink(content.toString('utf8'), target)
    } else {
      // 'wx': never through something already there (a symlink least of all).
      await writeFile(target, content, { flag: 'wx' })
      await chmod(target, e.mode === '100755' ? 0o755 : 0o644)
    }
  }
}

/** git's id of a blob with these bytes. */
export const blobId = (format: string, bytes: Buffer): string => createHash(format).update(`blob ${bytes.length}\0`).update(bytes).digest('hex')

/**
 * The first path where dir no longer holds commit's tree (content, executable bit, symlink target), or null when
 * every path does. Files the tree does not name are left alone: a function's `setup` writes there.
 */
export async function treeDrift (repo: string, commit: string, dir: string, format: string): Promise<string | null> {
  for (const e of await listTree(repo, commit)) {
    const path = join(dir, e.path)
    const st = await lstat(path).catch(() => null)
    if (st == null) return e.path
    if (e.mode === '120000') {
      if (!st.isSymbolicLink() || blobId(format, Buffer.from(await readlink(path), 'utf8')) !== e.oid) return e.path
    } else {
      if (!st.isFile() || ((st.mode & 0o111) !== 0) !== (e.mode === '100755') || blobId(format, await readFile(path)) !== e.oid) return e.path
    }
  }
  return null
}

/** Directories and files of a commit's tree, to check the paths organism.yaml names without a checkout. */
export async function listTreePaths (repo: string, commit: string): Promise<{ dirs: Set<string>, files: Set<string> }> {
  const typed = await gitMust(repo, ['ls-tree', '-r', '-t', '-z', '--full-tree', commit])
  const dirs = new Set<string>()
  const files = new Set<string>()
  for (const l of typed.split('\0').filter(x => x !== '')) {
    const tab = l.indexOf('\t')
    const type = l.slice(0, tab).split(' ')[1]
    ;(type === 'tree' ? dirs : files).add(l.slice(tab + 1))
  }
  return { dirs, files }
}
