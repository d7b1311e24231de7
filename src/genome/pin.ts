// Where a cell's trust in its genome is anchored: the first commit it verified, with that commit's signers, and the
// last commit it ran. From then on it runs only commits that descend from the last one, so that a history rewritten
// by someone who can push to the repo (an orphan root whose allowed_signers lists the key that signed it) is refused
// although every signature in it verifies. A new cell is given its parent's pin at imprint.
import { readFile } from 'node:fs/promises'
import { writeFileAtomic } from '../core/atomic-file.ts'
import { genomeError } from './errors.ts'
import { git } from './git.ts'

export const PIN_FILE = 'genome-pin.json'

export interface GenomePin {
  /** The first commit this cell (or the cell it was imprinted from) verified. */
  readonly first: string
  /** SHA256 fingerprints of the keys that signed for the genome at `first`. */
  readonly signers: readonly string[]
  /** The commit this cell ran last: what it runs next must descend from it. */
  readonly last: string
  /** Commits an update reverted (their gate failed): never taken again, though they descend. */
  readonly bad?: readonly string[]
}

const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/

/** The pin as written, or the reason it is not one (pure). */
export function parsePin (text: string): GenomePin | string {
  let v: unknown
  try { v = JSON.parse(text) } catch { return 'it is not JSON' }
  const p = v as Partial<GenomePin> | null
  if (p == null || typeof p !== 'object') return 'it is not an object'
  if (typeof p.first !== 'string' || !COMMIT.test(p.first)) return '"first" is not a commit id'
  if (typeof p.last !== 'string' || !COMMIT.test(p.last)) return '"last" is not a commit id'
  if (!Array.isArray(p.signers) || p.signers.some((s) => typeof s !== 'string')) return '"signers" is not a list of key fingerprints'
  if (p.bad !== undefined && (!Array.isArray(p.bad) || p.bad.some((c) => typeof c !== 'string' || !COMMIT.test(c)))) return '"bad" is not a list of commit ids'
  return { first: p.first, signers: [...p.signers], last: p.last, ...p.bad != null && p.bad.length > 0 ? { bad: [...p.bad] } : {} }
}

export async function readPin (file: string): Promise<GenomePin | null> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return null; throw err })
  if (text == null) return null
  const pin = parsePin(text)
  if (typeof pin === 'string') {
    throw genomeError('GENOME_PIN_INVALID', `${file} is not a genome pin: ${pin}`, { details: { file } })
  }
  return pin
}

export async function writePin (file: string, pin: GenomePin): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(pin, null, 2) + '\n', 0o600)
}

/** Whether `older` is `newer` or one of its ancestors, in the cell's store (a commit it lacks is no ancestor). */
async function isAncestor (mirror: string, older: string, newer: string): Promise<boolean> {
  return (await git(mirror, ['merge-base', '--is-ancestor', older, newer])).code === 0
}

/**
 * Refuses commit unless it is the pinned last commit or descends from it; names both commits and which way they
 * are apart (going back to an older commit, or a history that does not contain the one the cell ran).
 */
export async function assertFollowsPin (mirror: string, commit: string, pin: GenomePin, file: string): Promise<void> {
  if (pin.bad?.includes(commit) === true) {
    throw genomeError('GENOME_COMMIT_BAD', `commit ${commit.slice(0, 12)} was reverted by an update's gate on this cell (marked bad in ${file}): it is not taken again`, { details: { commit, file } })
  }
  if (commit === pin.last || await isAncestor(mirror, pin.last, commit)) return
  const short = (c: string): string => c.slice(0, 12)
  const back = await isAncestor(mirror, commit, pin.last)
  const why = back
    ? `is older than ${short(pin.last)}, the commit this cell last ran: a cell does not go back in its genome's history`
    : `does not descend from ${short(pin.last)}, the commit this cell last ran: an orphan root or a rewritten history`
  throw genomeError('GENOME_NOT_DESCENDANT', `commit ${short(commit)} ${why} (trust pinned at ${short(pin.first)} in ${file})`, {
    details: { commit, last: pin.last, first: pin.first, older: back, file }
  })
}

/** The pin after an update to `bad` was reverted to `back`, the commit run before it (pure). */
export function revertedPin (pin: GenomePin, back: string, bad: string): GenomePin {
  return { ...pin, last: back, bad: [...new Set([...pin.bad ?? [], bad])].slice(-100) }
}

/** The pin after running commit (pure): the first one pins its signers, every later one moves `last`. */
export function pinAfter (pin: GenomePin | null, commit: string, signers: readonly string[]): GenomePin {
  return pin == null ? { first: commit, signers: [...signers], last: commit } : { ...pin, last: commit }
}
