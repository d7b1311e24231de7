// initGenome (`cell init DIR`: scaffold, signing key, first signed commit) and signedCommit (commit all, SSH-signed).
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { genomeError } from './errors.ts'
import { must, run } from './git.ts'
import { parseGenome } from './parse.ts'
import { organismNameFrom, scaffoldFiles } from './scaffold.ts'

export function defaultKeyPath (): string {
  return join(homedir(), '.organism', 'signing_key')
}

/** Makes an ed25519 key at keyPath unless one is there; returns its public key line and whether it was made. */
export async function ensureSigningKey (keyPath: string): Promise<{ publicKey: string, created: boolean }> {
  const exists = await stat(keyPath).then(() => true, () => false)
  if (!exists) {
    await mkdir(dirname(keyPath), { recursive: true, mode: 0o700 })
    await must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'organism-signing', '-f', keyPath])
    await chmod(keyPath, 0o600)
  }
  // Derive the public half from the private key itself: a stale or missing .pub must not end up in allowed_signers.
  const r = await run('ssh-keygen', ['-y', '-P', '', '-f', keyPath])
  if (r.code !== 0) {
    throw genomeError('GENOME_KEY_INVALID', `cannot use ${keyPath} as a signing key: ${r.stderr.trim()}`, { details: { keyPath } })
  }
  const [type, data] = r.stdout.toString('utf8').trim().split(/\s+/)
  const publicKey = `${type} ${data} organism-signing`
  if (!exists) await writeFile(`${keyPath}.pub`, publicKey + '\n', { mode: 0o644 })
  return { publicKey, created: !exists }
}

async function configured (repoDir: string, key: string): Promise<string | null> {
  const r = await run('git', ['config', '--get', key], { cwd: repoDir })
  const v = r.stdout.toString('utf8').trim()
  return r.code === 0 && v !== '' ? v : null
}

export interface SignedCommitOptions {
  /** Extra environment for git, e.g. GIT_COMMITTER_EMAIL to claim another identity. */
  readonly env?: Readonly<Record<string, string>>
  readonly allowEmpty?: boolean
}

/** Stages every change and commits it signed with the SSH key at keyPath; returns the new commit id. */
export async function signedCommit (repoDir: string, message: string, keyPath: string, opts: SignedCommitOptions = {}): Promise<string> {
  await must('git', ['add', '-A'], { cwd: repoDir })
  // Fall back to a neutral identity so that a machine without user.name/email can still commit.
  const identity = [
    ...((await configured(repoDir, 'user.name')) == null ? ['-c', 'user.name=Organism'] : []),
    ...((await configured(repoDir, 'user.email')) == null ? ['-c', 'user.email=organism@localhost'] : [])
  ]
  await must('git', [
    ...identity, '-c', 'gpg.format=ssh', '-c', `user.signingkey=${resolve(keyPath)}`, '-c', 'gpg.ssh.program=ssh-keygen',
    'commit', '-q', '-S', ...(opts.allowEmpty === true ? ['--allow-empty'] : []), '-m', message
  ], { cwd: repoDir, env: opts.env })
  return await must('git', ['rev-parse', 'HEAD'], { cwd: repoDir })
}

export interface InitOptions {
  readonly keyPath?: string
  readonly organism?: string
  readonly zone?: string
}

export async function initGenome (dir: string, opts: InitOptions = {}): Promise<{ commit: string, keyPath: string, created: boolean }> {
  const root = resolve(dir)
  const present = await readdir(root).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return []
    throw err
  })
  if (present.length > 0) {
    throw genomeError('GENOME_INIT_NOT_EMPTY', `${root} is not empty (${present.length} entr${present.length === 1 ? 'y' : 'ies'}, e.g. ${present[0]})`, { details: { dir: root } })
  }
  const organism = opts.organism ?? organismNameFrom(basename(root))
  const zone = opts.zone ?? `${organism}.test`
  const keyPath = resolve(opts.keyPath ?? defaultKeyPath())
  const principal = `owner@${zone}`
  // Validate the scaffold before touching the disk: a bad --organism or --zone leaves nothing behind.
  const probe = scaffoldFiles(organism, zone, principal, 'ssh-ed25519 AAAA')
  parseGenome(probe['organism.yaml'], { file: join(root, 'organism.yaml'), root, checkFiles: false })

  const { publicKey, created } = await ensureSigningKey(keyPath)
  await mkdir(root, { recursive: true })
  for (const [rel, text] of Object.entries(scaffoldFiles(organism, zone, principal, publicKey))) {
    await mkdir(dirname(join(root, rel)), { recursive: true })
    await writeFile(join(root, rel), text)
  }
  await must('git', ['init', '-q', '-b', 'main'], { cwd: root })
  if ((await configured(root, 'user.name')) == null) await must('git', ['config', 'user.name', organism], { cwd: root })
  if ((await configured(root, 'user.email')) == null) await must('git', ['config', 'user.email', principal], { cwd: root })
  await must('git', ['config', 'gpg.format', 'ssh'], { cwd: root })
  await must('git', ['config', 'user.signingkey', keyPath], { cwd: root })
  await must('git', ['config', 'commit.gpgsign', 'true'], { cwd: root })
  // Only for people reading `git log --show-signature`; verification always passes the committed file itself.
  await must('git', ['config', 'gpg.ssh.allowedSignersFile', join(root, 'allowed_signers')], { cwd: root })
  const commit = await signedCommit(root, `Genome of ${organism}: first signed commit`, keyPath)
  return { commit, keyPath, created }
}

