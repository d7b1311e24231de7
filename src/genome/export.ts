// Writes the exact tree of one commit into a directory: bytes from git's object store, no attributes or filters applied.
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { genomeError } from './errors.ts'
import { git, gitMust } from './git.ts'

interface TreeEntry { readonly mode: string, readonly oid: string, readonly path: string }

/** Tree entries of a commit (files, executables, symlinks); submodules (mode 160000) have no content here. */
async function listTree (repo: string, commit: string): Promise<TreeEntry[]> {
  const r = await git(repo, ['ls-tree', '-r', '-z', '--full-tree', commit])
  if (r.code !== 0) throw genomeError('GENOME_GIT_FAILED', `git ls-tree ${commit} failed: ${r.stderr.trim()}`)
  return r.stdout.toString('utf8').split('\0').filter(l => l !== '').map(l => {
    const tab = l.indexOf('\t')
    const [mode, , oid] = l.slice(0, tab).split(' ')
    return { mode, oid, path: l.slice(tab + 1) }
  }).filter(e => e.mode !== '160000')
}

/** Contents of many blobs from one `git cat-file --batch`. */
async function readBlobs (repo: string, oids: readonly string[]): Promise<Map<string, Buffer>> {
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

export async function exportCommit (repo: string, commit: string, dest: string): Promise<void> {
  const entries = await listTree(repo, commit)
  const blobs = await readBlobs(repo, [...new Set(entries.map(e => e.oid))])
  await mkdir(dest, { recursive: true })
  for (const e of entries) {
    const target = join(dest, e.path)
    await mkdir(dirname(target), { recursive: true })
    const content = blobs.get(e.oid) ?? Buffer.alloc(0)
    if (e.mode === '120000') {
      await symlink(content.toString('utf8'), target)
    } else {
      await writeFile(target, content)
      await chmod(target, e.mode === '100755' ? 0o755 : 0o644)
    }
  }
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
