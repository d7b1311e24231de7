// verifyImported: a commit is trusted when git verifies its SSH signature against the genome's own
// allowed_signers, its key is listed there, and every change to allowed_signers in its history was signed
// by a key the previous allowed_signers trusted.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { genomeError } from './errors.ts'
import { git, gitMust } from './git.ts'
import { SCRATCH_PREFIX, withImported } from './mirror.ts'
import { gitSignerFor, parseAllowedSigners, signatureOf, sshSignatureKey, type SignerEntry } from './signers.ts'

export const SIGNERS_FILE = 'allowed_signers'
export { SCRATCH_PREFIX }

export interface Verified {
  readonly commit: string
  /** "SHA256:…" fingerprint of the key that signed the commit. */
  readonly signerKey: string
  /** The allowed_signers principal of that key. */
  readonly principal: string
  /** Fingerprints of every key the commit's allowed_signers lists for signing it. */
  readonly signers: readonly string[]
}

interface SignersFile { readonly path: string, readonly entries: readonly SignerEntry[] }

const short = (c: string): string => c.slice(0, 12)

/** Writes each distinct allowed_signers blob once into a temp dir, for git's gpg.ssh.allowedSignersFile. */
class SignersCache {
  readonly #repo: string
  readonly #dir: string
  readonly #files = new Map<string, SignersFile>()
  constructor (repo: string, dir: string) { this.#repo = repo; this.#dir = dir }
  async get (blob: string): Promise<SignersFile> {
    const known = this.#files.get(blob)
    if (known != null) return known
    const text = await gitMust(this.#repo, ['cat-file', 'blob', blob])
    const file = { path: join(this.#dir, blob), entries: parseAllowedSigners(text) }
    await writeFile(file.path, text + '\n', { mode: 0o600 })
    this.#files.set(blob, file)
    return file
  }
}

type Role = 'commit' | 'change'

/** Checks one commit's signature against one allowed_signers file; returns the signer or throws the precise reason. */
async function checkSignature (repo: string, commit: string, signers: SignersFile, role: Role): Promise<{ key: string, principal: string }> {
  const raw = await gitMust(repo, ['cat-file', 'commit', commit])
  const armored = signatureOf(raw)
  const where = role === 'change' ? ` (it changes ${SIGNERS_FILE})` : ''
  if (armored == null) {
    if (role === 'change') {
      throw genomeError('GENOME_SIGNERS_CHANGE_UNAUTHORIZED', `commit ${short(commit)} changes ${SIGNERS_FILE} but is not signed (key: none)`, { details: { commit, key: null } })
    }
    throw genomeError('GENOME_UNSIGNED', `commit ${short(commit)} is not signed`, { details: { commit } })
  }
  const claimedKey = sshSignatureKey(armored)
  if (claimedKey == null) {
    throw genomeError('GENOME_SIGNATURE_BAD', `commit ${short(commit)}${where} has a signature that is not an SSH signature (genomes are signed with gpg.format=ssh)`, { details: { commit, key: null } })
  }
  const cfg = ['-c', `gpg.ssh.allowedSignersFile=${signers.path}`, '-c', 'gpg.ssh.program=ssh-keygen']
  const fields = await gitMust(repo, [...cfg, 'log', '-1', '--format=%G?%x1f%GK%x1f%GS', commit])
  const [status, gitKey, principal] = fields.split('\x1f')
  const key = gitKey !== '' ? gitKey : claimedKey
  if (status === 'B' || status === 'E' || (gitKey !== '' && gitKey !== claimedKey)) {
    throw genomeError('GENOME_SIGNATURE_BAD', `commit ${short(commit)}${where} does not match its signature by key ${key} (status ${status}): it was altered or forged`, { details: { commit, key } })
  }
  // git matches the key, not the committer's email: look the key up ourselves (and only for the "git" namespace).
  const entry = gitSignerFor(signers.entries, key)
  if (entry == null) {
    if (role === 'change') {
      throw genomeError('GENOME_SIGNERS_CHANGE_UNAUTHORIZED', `commit ${short(commit)} changes ${SIGNERS_FILE} but is signed by key ${key}, which the previous ${SIGNERS_FILE} does not list`, { details: { commit, key } })
    }
    throw genomeError('GENOME_SIGNER_UNKNOWN', `commit ${short(commit)} is signed by key ${key}, which ${SIGNERS_FILE} does not list`, { details: { commit, key } })
  }
  const verified = await git(repo, [...cfg, 'verify-commit', commit])
  if (status !== 'G' || verified.code !== 0) {
    throw genomeError('GENOME_SIGNATURE_BAD', `commit ${short(commit)}${where} signed by key ${key} does not verify (status ${status}): ${verified.stderr.trim().split('\n').pop() ?? ''}`, { details: { commit, key } })
  }
  return { key, principal: principal !== '' ? principal : entry.principals[0] }
}

/** Blob id of allowed_signers in each commit (null when absent), read in one git process. */
async function signersBlobs (repo: string, commits: readonly string[]): Promise<Map<string, string | null>> {
  const out = await gitMust(repo, ['cat-file', '--batch-check'], { input: commits.map(c => `${c}:${SIGNERS_FILE}\n`).join('') })
  const lines = out.split('\n')
  return new Map(commits.map((c, i) => {
    const [oid, type] = (lines[i] ?? '').split(' ')
    return [c, type === 'blob' ? oid : null]
  }))
}

/**
 * Every commit reachable from tip that changed allowed_signers relative to a parent must be signed by a key
 * that parent's allowed_signers trusts. Root commits, and commits that introduce the file where no ancestor
 * ever had one, are trusted on their own file. Re-adding the file after it was deleted is refused.
 */
async function checkSignerHistory (repo: string, tip: string, cache: SignersCache): Promise<void> {
  const listing = await gitMust(repo, ['rev-list', '--topo-order', '--reverse', '--parents', tip])
  const graph = listing.split('\n').filter(l => l !== '').map(l => { const [c, ...parents] = l.split(' '); return { c, parents } })
  const blobs = await signersBlobs(repo, graph.map(g => g.c))
  const everHad = new Map<string, boolean>()
  for (const { c, parents } of graph) {
    const blob = blobs.get(c) ?? null
    everHad.set(c, blob != null || parents.some(p => everHad.get(p) === true))
    for (const p of parents) {
      const before = blobs.get(p) ?? null
      if (before === blob) continue
      if (before == null && everHad.get(p) !== true) continue
      if (before == null) {
        throw genomeError('GENOME_SIGNERS_CHANGE_UNAUTHORIZED', `commit ${short(c)} restores ${SIGNERS_FILE} after it was deleted; no earlier file can authorize it`, { details: { commit: c, key: null } })
      }
      await checkSignature(repo, c, await cache.get(before), 'change')
    }
  }
}

/**
 * Verifies commit in a cell's own store (see mirror.ts); `scratch` is where the signers files go for the moment
 * of the check.
 */
export async function verifyImported (mirror: string, commit: string, scratch: string = tmpdir()): Promise<Verified> {
  const tmp = await mkdtemp(join(scratch, scratch === tmpdir() ? 'organism-signers-' : SCRATCH_PREFIX))
  try {
    const cache = new SignersCache(mirror, tmp)
    const blob = (await signersBlobs(mirror, [commit])).get(commit) ?? null
    if (blob == null) {
      throw genomeError('GENOME_NO_SIGNERS', `commit ${short(commit)} has no ${SIGNERS_FILE} file at the genome root`, { details: { commit } })
    }
    const own = await cache.get(blob)
    if (own.entries.length === 0) {
      throw genomeError('GENOME_NO_SIGNERS', `${SIGNERS_FILE} at commit ${short(commit)} lists no usable key`, { details: { commit } })
    }
    const signer = await checkSignature(mirror, commit, own, 'commit')
    await checkSignerHistory(mirror, commit, cache)
    const signers = own.entries.filter((e) => gitSignerFor([e], e.fingerprint) != null).map((e) => e.fingerprint)
    return { commit, signerKey: signer.key, principal: signer.principal, signers }
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

/** Copies ref's commit out of the genome repo into a throwaway store and verifies it there (nothing is kept). */
export async function verifyGenomeCommit (repoDir: string, ref: string, scratch: string = tmpdir()): Promise<Verified> {
  return await withImported(repoDir, ref, scratch, async (mirror, commit) => await verifyImported(mirror, commit, scratch))
}
