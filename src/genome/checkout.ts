// checkoutGenome (verify, then export one exact commit) and checkGenome (what `cell genome check DIR` reports).
import { mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { genomeError } from './errors.ts'
import { exportCommit, listTreePaths, treeDrift } from './export.ts'
import { git } from './git.ts'
import { isOrganismError } from '../core/errors.ts'
import { importCommit, objectFormat, withImported } from './mirror.ts'
import { parseGenome, readGenome } from './parse.ts'
import { assertFollowsPin, pinAfter, readPin, writePin } from './pin.ts'
import type { Genome } from './types.ts'
import { verifyImported, SCRATCH_PREFIX } from './verify.ts'

/** The cell's own store of genome objects, beside the exported commits. */
export const MIRROR_DIR = 'objects.git'

export interface Checkout {
  readonly commit: string
  readonly dir: string
  readonly genome: Genome
  /** A path of an earlier export that no longer held what the commit holds (it was exported again). */
  readonly repaired?: string
}

export interface CheckoutOptions {
  /** The cell's genome pin (pin.ts): the commit must descend from the last one run; it is moved on after. */
  readonly pinFile?: string
}

/**
 * Copies ref's commit into the cell's store, verifies it there, exports it to <destRoot>/<commit> and parses its
 * organism.yaml. An export already there is used only if it still holds the commit's tree byte for byte; otherwise
 * it is written again. The export goes to a temp name and is renamed into place, so a crash never leaves a
 * half-written genome under the commit's name. An unverified commit is never written.
 */
export async function checkoutGenome (repoDir: string, ref: string, destRoot: string, opts: CheckoutOptions = {}): Promise<Checkout> {
  const root = resolve(destRoot)
  await mkdir(root, { recursive: true })
  // What a process killed in the middle of a verification or an export left here; only old ones (another process
  // may be exporting the same commit right now, and that takes seconds, not ten minutes).
  for (const name of await readdir(root).catch(() => [])) {
    if (!name.startsWith(SCRATCH_PREFIX) && !(name.startsWith('.') && name.includes('.tmp-'))) continue
    const st = await stat(join(root, name)).catch(() => null)
    if (st != null && Date.now() - st.mtimeMs > 10 * 60_000) await rm(join(root, name), { recursive: true, force: true })
  }
  const mirror = join(root, MIRROR_DIR)
  const commit = await importCommit(repoDir, ref, mirror)
  const verified = await verifyImported(mirror, commit, root)
  const pin = opts.pinFile == null ? null : await readPin(opts.pinFile)
  if (pin != null && opts.pinFile != null) await assertFollowsPin(mirror, commit, pin, opts.pinFile)
  const dir = join(root, commit)
  const format = await objectFormat(mirror)
  const there = await stat(dir).then(() => true, () => false)
  const drift = there ? await treeDrift(mirror, commit, dir, format) : null
  if (!there || drift != null) {
    const tmp = join(root, `.${commit}.tmp-${randomBytes(4).toString('hex')}`)
    try {
      await exportCommit(mirror, commit, tmp)
      await rm(dir, { recursive: true, force: true })
      await rename(tmp, dir)
    } catch (err) {
      await rm(tmp, { recursive: true, force: true })
      // Another process may have finished the same export first: that one is as good as ours.
      if (await treeDrift(mirror, commit, dir, format).catch(() => 'unreadable') != null) throw err
    }
  }
  const genome = await readGenome(dir, { commit })
  if (opts.pinFile != null && pin?.last !== commit) await writePin(opts.pinFile, pinAfter(pin, commit, verified.signers))
  return drift == null ? { commit, dir, genome } : { commit, dir, genome, repaired: drift }
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
  const { v, yaml, tree } = await withImported(root, 'HEAD', tmpdir(), async (mirror, commit) => {
    const verified = await verifyImported(mirror, commit)
    const shown = await git(mirror, ['cat-file', 'blob', `${commit}:organism.yaml`])
    if (shown.code !== 0) throw genomeError('GENOME_NOT_FOUND', `commit ${commit.slice(0, 12)} has no organism.yaml at the genome root`, { details: { commit } })
    return { v: verified, yaml: shown.stdout, tree: await listTreePaths(mirror, commit) }
  })
  const file = join(root, 'organism.yaml')
  const genome = parseGenome(yaml.toString('utf8'), {
    file, root, commit: v.commit, checkFiles: true,
    exists: (rel, kind) => (kind === 'dir' ? tree.dirs : tree.files).has(rel)
  })
  // Bytes compared, not `git status`: that would run the repo's own fsmonitor and clean filters.
  const working = await readFile(file).catch(() => null)
  const uncommitted = !yaml.equals(working ?? Buffer.alloc(0))
  if (uncommitted && working != null) {
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
