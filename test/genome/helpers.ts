// Test helpers for genomes in real git repositories: isolated git config, SSH keys, signed and unsigned commits.
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { after, before } from 'node:test'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import assert from 'node:assert/strict'
import { isOrganismError } from '../../src/core/errors.ts'

// Tests must not depend on the machine's git config (there may be no user.name, or a global signing setup).
process.env.GIT_CONFIG_GLOBAL = '/dev/null'
process.env.GIT_CONFIG_NOSYSTEM = '1'

export interface Key { readonly path: string, readonly publicKey: string, readonly fingerprint: string }

export async function tempDir (t: { after: (fn: () => Promise<void>) => void }, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A fresh ed25519 key; its fingerprint comes from ssh-keygen itself, independent of the code under test. */
export async function makeKey (dir: string, name: string): Promise<Key> {
  const path = join(dir, name)
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path])
  const publicKey = (await readFile(`${path}.pub`, 'utf8')).trim()
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${path}.pub`], { encoding: 'utf8' }).split(' ')[1]
  return { path, publicKey, fingerprint }
}

export function git (repo: string, args: string[], env: Record<string, string> = {}, input?: string | Buffer): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, ...env }, input }).trim()
}

/** git's output as bytes (binary objects such as trees). */
export function gitBytes (repo: string, args: string[]): Buffer {
  return execFileSync('git', args, { cwd: repo })
}

export async function put (repo: string, rel: string, text: string): Promise<void> {
  await mkdir(dirname(join(repo, rel)), { recursive: true })
  await writeFile(join(repo, rel), text)
}

export function signersLine (principal: string, key: Key): string {
  return `${principal} namespaces="git" ${key.publicKey}\n`
}

export const GENOME_YAML = 'organism: campus\nzone: campus.test\nfunctions:\n  web:\n    code: functions/web\n    start: node server.js\n'

/** A repo with a valid genome and allowed_signers (not yet committed). */
export async function makeRepo (dir: string, signers: string): Promise<string> {
  const repo = join(dir, 'repo')
  await mkdir(repo)
  git(repo, ['init', '-q', '-b', 'main'])
  await put(repo, 'organism.yaml', GENOME_YAML)
  await put(repo, 'functions/web/server.js', 'console.log("hi")\n')
  await put(repo, 'allowed_signers', signers)
  return repo
}

/** Output exactly as git prints it (no trimming), for byte comparisons. */
export function gitRaw (repo: string, args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8' })
}

/** A commit with no signature. */
export function unsignedCommit (repo: string, message: string): string {
  git(repo, ['add', '-A'])
  git(repo, ['-c', 'user.name=U', '-c', 'user.email=u@example.org', '-c', 'commit.gpgsign=false', 'commit', '-q', '--allow-empty', '-m', message])
  return git(repo, ['rev-parse', 'HEAD'])
}

/** For assert.rejects: the error has this code and its message names each of mentions. */
export function rejectsWith (code: string, ...mentions: string[]): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(isOrganismError(e, code), `expected ${code}, got ${String((e as Error).message)}`)
    for (const m of mentions) assert.ok(e.message.includes(m), `"${e.message}" should mention ${m}`)
    return true
  }
}

/** Fresh keys by name for one test file, made before its tests and removed after them. */
export function testKeys<N extends string> (...names: N[]): Record<N, Key> {
  const keys = {} as Record<N, Key>
  let dir = ''
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'genome-keys-')); for (const n of names) keys[n] = await makeKey(dir, n) })
  after(() => rm(dir, { recursive: true, force: true }))
  return keys
}
