// The imprint test fixture: a lab, a signed genome, the cell bundle, and a parent cell the lab hosts can reach.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLab } from '../../src/lab/index.ts'
import type { Lab } from '../../src/lab/index.ts'
import { initGenome } from '../../src/genome/index.ts'
import { buildCellBundle } from '../../src/imprint/index.ts'
import { spawnCell, runCli, waitFor } from '../helpers/cell-process.ts'
import type { CellProcess } from '../helpers/cell-process.ts'
import type { CellStatus } from '../../src/cell/status.ts'
import { rootAddress } from './helpers.ts'

export interface Fixture {
  lab: Lab
  dir: string
  genomeRepo: string
  commit: string
  bundlePath: string
  parentState: string
  parent: CellProcess
  parentStatus: () => Promise<CellStatus>
  token: () => Promise<string>
  destroy: () => Promise<void>
}

export async function makeFixture (hosts = 2): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'imprint-fx-'))
  const lab = await createLab({ hosts })
  let parent: CellProcess | null = null
  const destroy = async (): Promise<void> => {
    if (parent != null && parent.child.exitCode == null) { parent.child.kill('SIGTERM'); await Promise.race([parent.exited, new Promise((r) => setTimeout(r, 5000))]); parent.child.kill('SIGKILL') }
    await lab.destroy().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  }
  try {
    process.env.GIT_CONFIG_GLOBAL = '/dev/null'
    const genomeRepo = join(dir, 'genome')
    const { commit } = await initGenome(genomeRepo, { keyPath: join(dir, 'signing_key'), organism: 'imprinted', zone: 'imprinted.test' })
    const { outfile } = await buildCellBundle(join(dir, 'cell.mjs'))
    const parentState = join(dir, 'parent')
    // Listen everywhere and advertise the lab's root-side address: the token then names an address a lab host can dial.
    parent = spawnCell(['start', '--genome', genomeRepo, '--state', parentState, '--port', '0', '--dns-port', '0', '--listen', '0.0.0.0', '--advertise', rootAddress(lab), '--name', 'parent'])
    const p = parent
    const parentStatus = async (): Promise<CellStatus> => {
      const r = await runCli(['status', '--json', '--state', parentState])
      return JSON.parse(r.stdout) as CellStatus
    }
    await waitFor('the parent cell answers', async () => {
      if (p.child.exitCode != null) throw new Error(`parent exited: ${p.output()}`)
      return await parentStatus()
    }, { tries: 300 })
    const token = async (): Promise<string> => {
      const r = await runCli(['admit', '--state', parentState])
      if (r.code !== 0) throw new Error(`admit failed: ${r.stderr}`)
      return r.stdout.trim()
    }
    return { lab, dir, genomeRepo, commit, bundlePath: outfile, parentState, parent: p, parentStatus, token, destroy }
  } catch (err) {
    await destroy()
    throw err
  }
}
