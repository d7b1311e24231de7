// An organism of real cells on lab hosts (network namespaces, one cell per host on ports 80 and 53, each as its
// host's own user when it can read the checkout): start, join, query, kill -9, SIGSTOP, cut and heal, restart.
// Needs root (the namespaces); CI runs as root.
import { execFileSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLab } from '../../src/lab/index.ts'
import type { Lab } from '../../src/lab/index.ts'
import type { CellStatus } from '../../src/cell/status.ts'
import { demoGenomeRepo } from './organism.ts'
import { cliMain, request, waitFor } from './cell-process.ts'

export class LabOrganism {
  readonly lab: Lab
  readonly dir: string
  readonly names: string[]
  private user: 'host' | 'root' = 'host'
  private readonly cells = new Map<string, { child: ChildProcess, output: () => string }>()
  private readonly argsOf = new Map<string, string[]>()
  private constructor (lab: Lab, dir: string) { this.lab = lab; this.dir = dir; this.names = lab.hosts.map((h) => h.name) }

  static async create (hosts: number): Promise<LabOrganism> {
    const dir = await mkdtemp(join(tmpdir(), 'organism-lab-'))
    const lab = await createLab({ hosts })
    const o = new LabOrganism(lab, dir)
    try {
      const repo = await demoGenomeRepo(dir)
      await chmod(dir, 0o755)
      if ((await lab.exec('h1', ['test', '-r', cliMain], { user: 'host' })).code !== 0) o.user = 'root'
      for (const h of lab.hosts) {
        const r = await lab.exec(h.name, ['sh', '-c', `cp -a '${repo}' '${h.home}/genome' && chown -R '${h.user}:' '${h.home}/genome'`], { user: 'root' })
        if (r.code !== 0) throw new Error(`copying the genome to ${h.name}: ${r.stderr}`)
      }
    } catch (err) {
      await o.destroy()
      throw err
    }
    return o
  }

  addr (h: string): string { return this.lab.host(h).address }
  stateOf (h: string): string { return join(this.lab.host(h).home, 'cell') }

  async cli (h: string, args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
    return await this.lab.exec(h, [process.execPath, cliMain, ...args, '--state', this.stateOf(h)], { user: this.user, timeoutMs: 60_000 })
  }

  async status (h: string): Promise<CellStatus | null> {
    const r = await this.cli(h, ['status', '--json'])
    try { return r.stdout === '' ? null : JSON.parse(r.stdout) as CellStatus } catch { return null }
  }

  /** A request to a host's router, from this machine through the lab's veth. */
  async fetchVia (h: string, host: string, path: string, opts: { method?: string, body?: string } = {}): Promise<{ status: number, body: string, served?: string }> {
    const r = await request(80, host, path, { ...opts, address: this.addr(h) })
    const served = r.headers['x-organism-served']
    return { status: r.status, body: r.body, ...typeof served === 'string' ? { served } : {} }
  }

  dig (h: string, name: string, type = 'A'): string {
    return execFileSync('dig', [`@${this.addr(h)}`, '-p', '53', name, type, '+short', '+time=2', '+tries=1'], { encoding: 'utf8' }).trim()
  }

  /** Starts the cell of h (joining with token, if given) and waits until it answers status. */
  async start (h: string, token?: string): Promise<void> {
    const args = this.argsOf.get(h) ?? [process.execPath, cliMain, 'start', '--genome', join(this.lab.host(h).home, 'genome'), '--state', this.stateOf(h), '--port', '80', '--dns-port', '53',
      '--listen', '0.0.0.0', '--advertise', this.addr(h), '--name', h, '--peer-port', '4001']
    this.argsOf.set(h, args)
    const child = this.lab.spawn(h, token != null ? [...args, '--token', token] : args, { user: this.user })
    let out = ''
    child.stdout?.on('data', (c: Buffer) => { out = (out + c.toString()).slice(-20_000) })
    child.stderr?.on('data', (c: Buffer) => { out = (out + c.toString()).slice(-20_000) })
    this.cells.set(h, { child, output: () => out })
    await waitFor(`${h} answers status`, async () => {
      if (child.exitCode != null) throw new Error(`${h} exited: ${out}`)
      return await this.status(h)
    }, { tries: 300 })
  }

  /** h1 founds the organism; every other host joins with a token from it. */
  async startAll (): Promise<void> {
    await this.start(this.names[0])
    for (const h of this.names.slice(1)) {
      const token = await this.cli(this.names[0], ['admit'])
      if (token.code !== 0) throw new Error(`admit failed: ${token.stderr}`)
      await this.start(h, token.stdout.trim())
    }
  }

  running (h: string): boolean { const c = this.cells.get(h); return c != null && c.child.exitCode == null && c.child.signalCode == null }

  /** kill -9 of the cell process (its etcd, a separate process, lives on as after a crash of the cell alone). */
  async kill (h: string): Promise<void> {
    const c = this.cells.get(h)
    if (c == null || !this.running(h)) return
    const exited = new Promise((resolve) => c.child.once('exit', resolve))
    c.child.kill('SIGKILL')
    await exited
  }

  /** SIGSTOP for ms, then SIGCONT: a cell frozen (a long GC pause, a VM stall), its sockets open. */
  async pause (h: string, ms: number): Promise<void> {
    const pid = this.cells.get(h)?.child.pid
    if (pid == null || !this.running(h)) return
    process.kill(pid, 'SIGSTOP')
    try { await new Promise((r) => setTimeout(r, ms)) } finally { try { process.kill(pid, 'SIGCONT') } catch {} }
  }

  /** Waits until every running cell sees `count` members alive and knows every function's owner. */
  async aliveEverywhere (count: number, hosts = this.names.filter((h) => this.running(h))): Promise<void> {
    await waitFor(`${count} alive on ${hosts.join(',')}`, async () => {
      for (const h of hosts) {
        const s = await this.status(h)
        if (s == null || s.members.filter((m) => m.liveness === 'alive').length !== count) return false
        if (s.placements.length !== s.functions.length) return false
      }
      return true
    }, { tries: 300, everyMs: 200 })
  }

  output (h: string): string { return this.cells.get(h)?.output() ?? '' }

  async destroy (): Promise<void> {
    for (const h of this.cells.keys()) await this.kill(h).catch(() => {})
    await this.lab.destroy()
    await rm(this.dir, { recursive: true, force: true })
  }
}
