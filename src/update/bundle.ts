// Genome objects from cell to cell: the cell that runs a commit sends the history up to it as a git bundle over a
// member stream; the receiver unpacks it into a scratch repository, from which its own store copies the commit with
// every object checked (genome/mirror.ts) before anything about it is believed.
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { createReadStream, createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import type { Duplex } from 'node:stream'
import { git, gitMust } from '../genome/git.ts'
import { updateError } from './errors.ts'

/** The biggest bundle a receiver takes: a genome is code, not data. */
export const MAX_BUNDLE_BYTES = 256 * 1024 * 1024
const COMMIT_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/

/** Reads one line (the commit wanted) from the stream, at most 128 bytes, leaving the stream open for the answer. */
async function readLine (stream: Duplex): Promise<string> {
  return await new Promise((resolve, reject) => {
    let got = Buffer.alloc(0)
    const done = (err: Error | null, line?: string): void => {
      stream.off('data', onData); stream.off('end', onEnd); stream.off('error', onEnd)
      if (err != null) reject(err)
      else resolve(line ?? '')
    }
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk])
      const nl = got.indexOf(0x0a)
      if (nl >= 0) { stream.pause(); done(null, got.subarray(0, nl).toString('utf8')) } else if (got.length > 128) done(updateError('UPDATE_BAD_OFFER', 'the request for a genome bundle is longer than a commit id'))
    }
    const onEnd = (): void => { done(updateError('UPDATE_BAD_OFFER', 'the request for a genome bundle named no commit')) }
    stream.on('data', onData); stream.once('end', onEnd); stream.once('error', onEnd)
  })
}

/** The sender's side: one stream asks for one commit of `mirror`; it gets the bundle, or the stream is closed. */
export async function serveBundle (stream: Duplex, mirror: string, scratch: string): Promise<void> {
  const dir = await mkdtemp(join(scratch, '.bundle-'))
  try {
    const commit = (await readLine(stream)).trim()
    if (!COMMIT_RE.test(commit) || (await git(mirror, ['cat-file', '-e', `${commit}^{commit}`])).code !== 0) { stream.destroy(); return }
    const file = join(dir, 'genome.bundle')
    // The store keeps each commit it copied under refs/commits/<id> (mirror.ts): that ref is what the bundle carries.
    await gitMust(mirror, ['bundle', 'create', '-q', file, `refs/commits/${commit}`])
    await pipeline(createReadStream(file), stream)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * The receiver's side: asks `open()`'s stream for commit, unpacks what arrives into a scratch bare repository and
 * calls `use` with it (the caller's store copies from there); the scratch repository is removed afterwards.
 */
export async function fetchBundle<T> (open: () => Promise<Duplex>, commit: string, scratch: string, use: (repo: string) => Promise<T>): Promise<T> {
  if (!COMMIT_RE.test(commit)) throw updateError('UPDATE_BAD_OFFER', `"${commit.slice(0, 80)}" is not a commit id`)
  const dir = await mkdtemp(join(scratch, '.bundle-'))
  try {
    const file = join(dir, 'genome.bundle')
    try {
      const stream = await open()
      stream.write(`${commit}\n`)
      let bytes = 0
      stream.on('data', (c: Buffer) => { bytes += c.length; if (bytes > MAX_BUNDLE_BYTES) stream.destroy(new Error(`more than ${MAX_BUNDLE_BYTES} bytes`)) })
      await pipeline(stream, createWriteStream(file))
    } catch (err) {
      throw updateError('UPDATE_BUNDLE_FAILED', `fetching commit ${commit.slice(0, 12)}: ${(err as Error).message}`, { cause: err })
    }
    if (((await stat(file).catch(() => null))?.size ?? 0) === 0) throw updateError('UPDATE_BUNDLE_FAILED', `the offering cell sent nothing for commit ${commit.slice(0, 12)} (it does not have it)`)
    const repo = join(dir, 'repo.git')
    await gitMust(dir, ['init', '-q', '--bare', repo])
    const r = await git(repo, ['-c', 'transfer.fsckObjects=true', 'fetch', '-q', '--no-tags', file, `+refs/commits/${commit}:refs/heads/offered`])
    if (r.code !== 0) throw updateError('UPDATE_BUNDLE_FAILED', `the bundle for commit ${commit.slice(0, 12)} could not be read: ${r.stderr.trim().split('\n')[0]}`)
    return await use(repo)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
