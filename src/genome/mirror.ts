// The cell's own object store for genomes: one commit is copied in from the genome repo through git's pack
// protocol, where every object is hashed again and checked by fsck, and everything that decides trust (signatures,
// history, the exported tree) is read from this copy. The genome repo itself is only asked for a ref and its
// objects: its config, hooks, attributes, replace refs, grafts and alternates decide nothing here.
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { genomeError } from './errors.ts'
import { git, gitMust } from './git.ts'

/** Config of the cell's store, written by the cell: nothing in it runs a command, nothing is collected away. */
function mirrorConfig (objectFormat: string): string {
  const sha1 = objectFormat === 'sha1'
  return `[core]\n\trepositoryformatversion = ${sha1 ? 0 : 1}\n\tbare = true\n\tfsmonitor = false\n\thooksPath = /dev/null\n` +
    '[gc]\n\tauto = 0\n[transfer]\n\tfsckObjects = true\n[protocol "file"]\n\tallow = always\n' +
    (sha1 ? '' : `[extensions]\n\tobjectFormat = ${objectFormat}\n`)
}

/** Settings for the one git process that reads the genome repo: no command of its own can run through them. */
const SOURCE_SAFE = ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null']

const short = (c: string): string => c.slice(0, 12)

/** Temp dirs a verification makes in a cell's own checkouts dir (a killed cell's are swept at its next start). */
export const SCRATCH_PREFIX = '.verify-'

export async function assertRepo (repoDir: string): Promise<void> {
  const exists = await stat(repoDir).catch(() => null)
  const r = exists == null ? null : await git(repoDir, [...SOURCE_SAFE, 'rev-parse', '--git-dir'])
  if (r == null || r.code !== 0) {
    throw genomeError('GENOME_NOT_A_REPO', `${repoDir} is not a git repository${exists == null ? ' (it does not exist)' : ''}`, { details: { repoDir } })
  }
}

async function resolveIn (repoDir: string, ref: string): Promise<string> {
  // "--end-of-options" so that a ref starting with "-" is never read as an option.
  const r = ref.startsWith('-') ? null : await git(repoDir, [...SOURCE_SAFE, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])
  if (r == null || r.code !== 0) throw genomeError('GENOME_REF_UNKNOWN', `no commit "${ref}" in ${repoDir}`, { details: { repoDir, ref } })
  return r.stdout.toString('utf8').trim()
}

/** Makes the store if it is missing (idempotent, also when two processes make it at once). */
export async function openMirror (mirror: string, objectFormat = 'sha1'): Promise<void> {
  if ((await stat(join(mirror, 'objects')).catch(() => null)) != null) return
  await mkdir(mirror, { recursive: true, mode: 0o700 })
  await gitMust(mirror, ['init', '-q', '--bare', `--object-format=${objectFormat}`, '.'])
  await writeFile(join(mirror, 'config'), mirrorConfig(objectFormat))
}

/** The hash git names the repo's objects by ('sha1' or 'sha256'). */
export async function objectFormat (repo: string): Promise<string> {
  return (await gitMust(repo, [...SOURCE_SAFE, 'rev-parse', '--show-object-format'])) || 'sha1'
}

/**
 * Resolves ref in the genome repo and copies that commit with its whole history into the store; returns its id.
 * Refused: a shallow repo (the history that authorizes its signers is missing) and objects that fail git's
 * integrity check (a file under an object's name that holds other bytes, a tree with duplicate or ".." entries).
 */
export async function importCommit (repoDir: string, ref: string, mirror: string): Promise<string> {
  const source = resolve(repoDir)
  await assertRepo(source)
  const commit = await resolveIn(source, ref)
  if ((await gitMust(source, [...SOURCE_SAFE, 'rev-parse', '--is-shallow-repository'])) === 'true') {
    throw genomeError('GENOME_SHALLOW', `${source} is a shallow clone: the history that authorizes allowed_signers at ${short(commit)} is not there to check`, { details: { repoDir: source, commit } })
  }
  await openMirror(mirror, await objectFormat(source))
  const present = await git(mirror, ['cat-file', '-e', `${commit}^{commit}`])
  if (present.code !== 0) {
    const fetched = await git(mirror, ['fetch', '-q', '--no-tags', '--no-write-fetch-head', source, `+${commit}:refs/commits/${commit}`])
    const there = await git(mirror, ['cat-file', '-e', `${commit}^{commit}`])
    // Another process may have fetched the same commit at the same moment (its ref lock made ours fail).
    if (fetched.code !== 0 && there.code !== 0) {
      const why = fetched.stderr.split('\n').filter((l) => !/^(hint|warning):/.test(l)).join('\n').trim()
      if (/fsck|index-pack|did not send all necessary objects|bad object|corrupt|hash mismatch/i.test(why)) {
        throw genomeError('GENOME_OBJECTS_BAD', `the genome repo's objects for commit ${short(commit)} fail git's integrity check: ${why.split('\n').filter((l) => l !== '').slice(0, 3).join('; ')}`, { details: { repoDir: source, commit } })
      }
      throw genomeError('GENOME_GIT_FAILED', `copying commit ${short(commit)} from ${source} failed: ${why}`, { details: { repoDir: source, commit } })
    }
  }
  return commit
}

/** Runs fn with a throwaway store holding ref's commit (for checks that keep nothing: `cell genome check`, bundles). */
export async function withImported<T> (repoDir: string, ref: string, scratch: string, fn: (mirror: string, commit: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(scratch, SCRATCH_PREFIX))
  try {
    const mirror = join(dir, 'objects.git')
    return await fn(mirror, await importCommit(repoDir, ref, mirror))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
