// Several real cells on this machine (loopback addresses 127.0.0.x), for organism tests: start, join, query, kill.
import { mkdtemp, mkdir, rm, cp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { existsSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { initGenome, signedCommit } from '../../src/genome/index.ts'
import { spawnCell, runCli, waitFor, leftoverProcesses } from './cell-process.ts'
import type { CellProcess } from './cell-process.ts'
import type { CellStatus } from '../../src/cell/status.ts'

export interface TestCell { name: string, state: string, address: string, proc: CellProcess, args: string[], status: () => Promise<CellStatus> }

/**
 * A signed copy of the demo genome (examples/campus) in a temp dir, with a key made for the test; `edit` changes its
 * organism.yaml, `files` adds files (path in the genome -> content).
 */
export async function demoGenomeRepo (dir: string, edit?: (yaml: string) => string, files: Record<string, string> = {}): Promise<string> {
  process.env.GIT_CONFIG_GLOBAL = '/dev/null'
  const repo = join(dir, 'genome')
  await initGenome(repo, { keyPath: join(dir, 'key'), organism: 'campus', zone: 'campus.test' })
  execFileSync('git', ['-C', repo, 'rm', '-rq', 'functions'])
  await cp(new URL('../../examples/campus', import.meta.url).pathname, repo, { recursive: true })
  if (edit != null) await writeFile(join(repo, 'organism.yaml'), edit(await readFile(join(repo, 'organism.yaml'), 'utf8')))
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(repo, path)), { recursive: true })
    await writeFile(join(repo, path), content)
  }
  await signedCommit(repo, 'the demo suite', join(dir, 'key'))
  return repo
}

export class TestOrganism {
  readonly dir: string
  readonly cells: TestCell[] = []
  private readonly repo: string
  private constructor (dir: string, repo: string) { this.dir = dir; this.repo = repo }
  /** The genome repo every cell starts from, and the key that signs its commits (for tests that make new ones). */
  get genomeRepo (): string { return this.repo }
  get signingKey (): string { return join(this.dir, 'key') }

  static async create (edit?: (yaml: string) => string, files?: Record<string, string>): Promise<TestOrganism> {
    const dir = await mkdtemp(join(tmpdir(), 'organism-multi-'))
    return new TestOrganism(dir, await demoGenomeRepo(dir, edit, files))
  }

  async statusOf (state: string): Promise<CellStatus | null> {
    const r = await runCli(['status', '--json', '--state', state])
    return r.stdout === '' ? null : JSON.parse(r.stdout) as CellStatus
  }

  /** Starts cell number n (address 127.0.0.n+1); joins through the first cell unless it is the first. */
  async start (name: string, n: number, extra: string[] = []): Promise<TestCell> {
    const state = join(this.dir, name)
    const address = `127.0.0.${n + 1}`
    const args = ['start', '--genome', this.repo, '--state', state, '--port', '0', '--dns-port', '0', '--advertise', address, '--name', name, ...extra]
    if (this.cells.length > 0) {
      const r = await runCli(['admit', '--state', this.cells[0].state])
      if (r.code !== 0) throw new Error(`admit failed: ${r.stderr}`)
      // By file, as imprint passes it: the cell reads it and deletes it once it has joined.
      const tokenFile = join(this.dir, `${name}.token`)
      await writeFile(tokenFile, r.stdout.trim(), { mode: 0o600 })
      args.push('--token-file', tokenFile)
    }
    const proc = spawnCell(args)
    const cell: TestCell = { name, state, address, proc, args, status: async () => { const s = await this.statusOf(state); if (s == null) throw new Error(`no status from ${name}`); return s } }
    this.cells.push(cell)
    await waitFor(`${name} answers status`, async () => {
      if (proc.child.exitCode != null) throw new Error(`${name} exited: ${proc.output()}`)
      return await this.statusOf(state)
    }, { tries: 300 })
    const tokenFile = args[args.indexOf('--token-file') + 1]
    if (args.includes('--token-file')) await waitFor(`${name} deletes its spent join token`, async () => !existsSync(tokenFile), { tries: 100 })
    return cell
  }

  /** Starts a cell that ran before again, as a reboot would: the same command, without the join token it used. */
  async restart (cell: TestCell): Promise<void> {
    if (cell.proc.child.exitCode == null && cell.proc.child.signalCode == null) throw new Error(`${cell.name} still runs`)
    const i = cell.args.indexOf('--token-file')
    cell.proc = spawnCell(i < 0 ? cell.args : [...cell.args.slice(0, i), ...cell.args.slice(i + 2)])
    await waitFor(`${cell.name} answers status again`, async () => {
      if (cell.proc.child.exitCode != null) throw new Error(`${cell.name} exited: ${cell.proc.output()}`)
      return await this.statusOf(cell.state)
    }, { tries: 300 })
  }

  /** Waits (bounded) until every running cell sees `count` members alive. */
  async converged (count: number): Promise<void> {
    await waitFor(`${count} members alive on every cell`, async () => {
      for (const c of this.cells) {
        if (c.proc.child.exitCode != null) continue
        const s = await this.statusOf(c.state)
        if (s == null || s.members.filter((m) => m.liveness === 'alive').length !== count) return false
        // Settled means every cell also knows who owns every function (a new member learns it by anti-entropy).
        if (s.placements.length !== s.functions.length) return false
      }
      return true
    }, { tries: 300 })
  }

  async destroy (): Promise<void> {
    for (const c of this.cells) if (c.proc.child.exitCode == null) { c.proc.child.kill('SIGKILL'); await c.proc.exited }
    for (const pids of (await leftoverProcesses(this.dir)).values()) for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch {} }
    if (process.env.ORGANISM_KEEP_TEST_DIRS !== '1') await rm(this.dir, { recursive: true, force: true })
  }
}
