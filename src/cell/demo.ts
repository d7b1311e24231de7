// The demo organism for `npm start`: the shipped examples/campus genome, kept as a signed git repo in the state directory.
import { cp, mkdir, readFile, writeFile, access } from 'node:fs/promises'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { signedCommit, ensureSigningKey } from '../genome/index.ts'
import type { CellPaths } from './paths.ts'

const run = promisify(execFile)
export const demoSource = fileURLToPath(new URL('../../examples/campus', import.meta.url))

/**
 * Copies the example genome into the state directory and commits it signed with a demo key made on
 * this machine, so that the cell verifies the demo exactly as it verifies any genome. A changed
 * example (a newer checkout) becomes a new signed commit.
 */
export async function prepareDemoGenome (paths: CellPaths): Promise<string> {
  const repo = paths.demoGenome
  await mkdir(repo, { recursive: true, mode: 0o700 })
  const { publicKey } = await ensureSigningKey(paths.demoKey)
  await cp(demoSource, repo, { recursive: true, force: true })
  // The demo key also signs the demo's overrides (Ctrl-C bringing functions home from demo hosts).
  const signers = `demo@organism namespaces="git,organism-override" ${publicKey.trim()}\n`
  const signersFile = join(repo, 'allowed_signers')
  const current = await readFile(signersFile, 'utf8').catch(() => '')
  if (current !== signers) await writeFile(signersFile, signers)
  const isRepo = await access(join(repo, '.git')).then(() => true, () => false)
  if (!isRepo) await run('git', ['init', '-q', '-b', 'main', repo])
  const { stdout } = await run('git', ['-C', repo, 'status', '--porcelain'])
  if (stdout.trim() !== '') await signedCommit(repo, 'demo genome from examples/campus', paths.demoKey)
  return repo
}
