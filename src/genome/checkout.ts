// checkoutGenome (verify, then export one exact commit) and checkGenome (what `cell genome check DIR` reports).
import { access, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join, resolve } from 'node:path'
import { genomeError } from './errors.ts'
import { exportCommit, listTreePaths } from './export.ts'
import { git } from './git.ts'
import { isOrganismError } from '../core/errors.ts'
import { parseGenome, readGenome } from './parse.ts'
import type { Genome } from './types.ts'
import { verifyGenomeCommit, SCRATCH_PREFIX } from './verify.ts'

/** Written last into an exported genome: its presence means the export is complete. */
export const COMPLETE_MARKER = '.organism-checkout-complete'

async function isComplete (dir: string, commit: string): Promise<boolean> {
  const text = await readFile(join(dir, COMPLETE_MARKER), 'utf8').catch(() => null)
  return text?.trim() === commit
}

/**
 * Verifies ref, then exports that exact commit to <destRoot>/<commit> (once; a complete export is reused)
 * and parses its organism.yaml. The export goes to a temp name and is renamed into place, so a crash never
 * leaves a half-written genome under the commit's name. An unverified commit is never written.
 */
export async function checkoutGenome (repoDir: string, ref: string, destRoot: string): Promise<{ commit: string, dir: string, genome: Genome }> {
  const root = resolve(destRoot)
  await mkdir(root, { recursive: true })
  // What a process killed in the middle of a verification or an export left here; only old ones (another process
  // may be exporting the same commit right now, and that takes seconds, not ten minutes).
  for (const name of await readdir(root).catch(() => [])) {
    if (!name.startsWith(SCRATCH_PREFIX) && !(name.startsWith('.') && name.includes('.tmp-'))) continue
    const st = await stat(join(root, name)).catch(() => null)
    if (st != null && Date.now() - st.mtimeMs > 10 * 60_000) await rm(join(root, name), { recursive: true, force: true })
  }
  const { commit } = await verifyGenomeCommit(repoDir, ref, root)
  const dir = join(root, commit)
  if (!(await isComplete(dir, commit))) {
    const tmp = join(root, `.${commit}.tmp-${randomBytes(4).toString('hex')}`)
    try {
      await exportCommit(repoDir, commit, tmp)
      await writeFile(join(tmp, COMPLETE_MARKER), commit + '\n')
      await rm(dir, { recursive: true, force: true })
      await rename(tmp, dir)
    } catch (err) {
      await rm(tmp, { recursive: true, force: true })
      // Another process may have finished the same export first: that one is as good as ours.
      if (!(await isComplete(dir, commit))) throw err
    }
  }
  return { commit, dir, genome: await readGenome(dir, { commit }) }
}

export interface GenomeCheck {
  readonly genome: Genome
  readonly commit: string
  readonly signerKey: string
  readonly principal: string
  /** organism.yaml in the working tree differs from HEAD (it was validated too, and is valid). */
  readonly uncommitted: boolean
}

/**
 * For `cell genome check DIR`: HEAD must verify and its organism.yaml must be valid against HEAD's own tree
 * (that is what a cell would run). If organism.yaml has uncommitted changes, the working-tree version is
 * validated as well and its problems are reported (GENOME_INVALID naming the working tree), so that an
 * operator learns about a mistake before committing it; a valid uncommitted change sets `uncommitted`.
 */
export async function checkGenome (dir: string): Promise<GenomeCheck> {
  const root = resolve(dir)
  const v = await verifyGenomeCommit(root, 'HEAD')
  const file = join(root, 'organism.yaml')
  const shown = await git(root, ['cat-file', 'blob', `${v.commit}:organism.yaml`])
  if (shown.code !== 0) throw genomeError('GENOME_NOT_FOUND', `commit ${v.commit.slice(0, 12)} has no organism.yaml at the genome root`, { details: { commit: v.commit } })
  const tree = await listTreePaths(root, v.commit)
  const genome = parseGenome(shown.stdout.toString('utf8'), {
    file, root, commit: v.commit, checkFiles: true,
    exists: (rel, kind) => (kind === 'dir' ? tree.dirs : tree.files).has(rel)
  })
  const status = await git(root, ['status', '--porcelain', '-z', '--', 'organism.yaml'])
  const uncommitted = status.code === 0 && status.stdout.length > 0
  if (uncommitted && await access(file).then(() => true, () => false)) {
    try {
      await readGenome(root)
    } catch (err) {
      if (isOrganismError(err, 'GENOME_INVALID')) {
        const problems = err.details.problems as Array<{ message: string }>
        throw genomeError('GENOME_INVALID', `HEAD ${v.commit.slice(0, 12)} is valid, but the uncommitted organism.yaml in the working tree is not:\n${problems.map(p => p.message).join('\n')}`, {
          details: { ...err.details, workingTree: true, commit: v.commit }
        })
      }
      throw err
    }
  }
  return { genome, commit: v.commit, signerKey: v.signerKey, principal: v.principal, uncommitted }
}
