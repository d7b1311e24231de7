// What imprint copies, made on the parent: the Node binary for the host's platform and a git bundle of one verified commit.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { verifyImported, withImported } from '../genome/index.ts'
import { imprintError } from './errors.ts'

const run = promisify(execFile)

/** This machine's Node 24 when its platform matches the host's; otherwise the caller must bring one. */
export function localRuntimeFor (platform: string, given?: string): string {
  if (given != null) return given
  const here = `${process.platform}-${process.arch}`
  if (platform !== here || !process.version.startsWith('v24.')) {
    throw imprintError('IMPRINT_NO_RUNTIME', `the host is ${platform}, this machine runs Node ${process.version} on ${here}`)
  }
  return process.execPath
}

/** A Node already on the host is reused when it is the same major version as ours. */
export function runtimeSuitable (hostVersion: string | null, ours: string = process.version): boolean {
  return hostVersion != null && hostVersion.split('.')[0] === ours.split('.')[0]
}

/** The etcd to copy to a host: ours, when the host has none on its PATH (or always, when asked); null: nothing. */
export function etcdToCarry (ours: string | null, hostHas: string | null, mode: 'auto' | 'always' = 'auto'): string | null {
  if (ours == null) return null
  return mode === 'always' || hostHas == null ? ours : null
}

export interface GenomeBundle { readonly file: string, readonly commit: string, readonly bytes: number, readonly cleanup: () => Promise<void> }

/**
 * Verifies the commit (its signature against the genome's own signers) in a throwaway store of its objects and
 * writes a git bundle of exactly that commit and its history, under one branch, from that store: the parent's
 * repo is only read.
 */
export async function bundleGenome (repo: string, ref: string): Promise<GenomeBundle> {
  const dir = await mkdtemp(join(tmpdir(), 'organism-genome-bundle-'))
  try {
    const file = join(dir, 'genome.bundle')
    const commit = await withImported(repo, ref, dir, async (mirror, commit) => {
      await verifyImported(mirror, commit, dir)
      await run('git', ['-C', mirror, 'update-ref', 'refs/heads/genome', commit])
      await run('git', ['-C', mirror, 'bundle', 'create', '-q', file, 'refs/heads/genome'])
      return commit
    })
    return { file, commit, bytes: (await stat(file)).size, cleanup: async () => { await rm(dir, { recursive: true, force: true }) } }
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}
