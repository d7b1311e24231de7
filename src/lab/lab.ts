// createLab: claims a lab number, builds its network and hosts, and hands back a Lab that tears itself down.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import type { HostPlan, LabMode, LabPlan } from './plan.ts'
import { labPrefix, planLab } from './plan.ts'
import { labError } from './errors.ts'
import { run, runSync } from './run.ts'
import type { RunResult } from './run.ts'
import type { LabRecord } from './state.ts'
import { claimId, isStale, listRecords, removeAbandonedClaims, removeRecord, stateRoot, writeRecord } from './state.ts'
import { teardownPlan } from './teardown.ts'
import { buildNetwork, hostCommand, setLink } from './netns.ts'
import { addUser, makeKey, startHost } from './hosts.ts'
import type { StartedHost } from './hosts.ts'
import { forget, remember } from './exit.ts'
import { liveStartTime } from '../core/proc-stat.ts'

export interface LabOptions {
  readonly hosts: number
  /** 'netns' needs root; the default is 'netns' as root and 'loopback' otherwise. */
  readonly mode?: LabMode
  /** Made by `lab up`: outlives this process and is left for `lab down`; no exit hooks. */
  readonly persistent?: boolean
  /** The owner stops in order on SIGINT/SIGTERM and destroys the lab itself; it is still torn down at exit. */
  readonly ownerHandlesSignals?: boolean
  /** Where lab records live (default stateRoot()). */
  readonly stateDir?: string
}

export interface LabHost {
  readonly name: string
  readonly address: string
  readonly sshPort: number
  readonly user: string
  readonly home: string
  /** A known_hosts line for the host's key, for pinning. */
  readonly hostKey: string
  readonly fingerprint: string
}

export interface ExecOptions {
  readonly user?: 'host' | 'root'
  readonly env?: NodeJS.ProcessEnv
  readonly input?: string
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
}

export interface Lab {
  readonly id: number
  readonly prefix: string
  readonly mode: LabMode
  readonly dir: string
  readonly hosts: readonly LabHost[]
  /** Private key authorised on every host. */
  readonly clientKey: string
  /** A known_hosts file holding every host's key. */
  readonly knownHosts: string
  readonly stateFile: string
  host: (name: string) => LabHost
  exec: (host: string, argv: readonly string[], options?: ExecOptions) => Promise<RunResult>
  spawn: (host: string, argv: readonly string[], options?: Omit<ExecOptions, 'input' | 'timeoutMs'>) => ChildProcess
  cut: (host: string) => Promise<void>
  heal: (host: string) => Promise<void>
  destroy: () => Promise<void>
}

export function defaultMode (): LabMode { return process.getuid?.() === 0 ? 'netns' : 'loopback' }

/**
 * Removes labs under root whose maker is gone (kill -9, crash) and that were not made to outlive it;
 * with includePersistent, also those made by `lab up` (that is `lab down`). Labs of live processes are never touched.
 */
export function collectStale (root = stateRoot(), includePersistent = false): number[] {
  const removed: number[] = []
  removeAbandonedClaims(root)
  for (const record of listRecords(root)) {
    if (!isStale(record) && !(includePersistent && record.persistent)) continue
    // Only root can remove netns labs; a non-root GC leaves them for root's.
    if (record.plan.mode === 'netns' && process.getuid?.() !== 0) continue
    teardownPlan(record.plan, Object.values(record.hosts ?? {}).map((h) => h.sshdPid))
    removeRecord(root, record.plan.id)
    removed.push(record.plan.id)
  }
  return removed
}

/** Something of lab number id exists on this machine though no record claims it (a leftover). */
function idInUse (id: number, mode: LabMode): boolean {
  if (mode !== 'netns') return false
  const prefix = labPrefix(id)
  const ns = runSync(['ip', 'netns', 'list']).stdout
  if (new RegExp(`^${prefix}-`, 'm').test(ns)) return true
  if (runSync(['ip', 'link', 'show', prefix]).code === 0) return true
  // Never shadow a subnet this machine already routes.
  return runSync(['ip', 'route', 'show', `10.213.${id}.0/24`]).stdout.trim() !== ''
}

export async function createLab (options: LabOptions): Promise<Lab> {
  const mode = options.mode ?? defaultMode()
  if (!Number.isInteger(options.hosts) || options.hosts < 1 || options.hosts > 250) throw labError('LAB_BAD_OPTION', `hosts must be 1-250, got ${options.hosts}`)
  if (mode !== 'netns' && mode !== 'loopback') throw labError('LAB_BAD_OPTION', `unknown mode ${String(mode)}`)
  if (mode === 'netns' && process.getuid?.() !== 0) throw labError('LAB_UNSUPPORTED', 'the netns lab needs root')
  const root = options.stateDir ?? stateRoot()
  collectStale(root)
  const id = claimId(root, (n) => idInUse(n, mode))
  const dir = mkdtempSync(join(tmpdir(), `${labPrefix(id)}-`))
  // Host users must be able to walk through the lab dir to their homes.
  chmodSync(dir, 0o755)
  const plan = planLab({ id, hosts: options.hosts, mode, dir, currentUser: userInfo().username })
  const owner = { pid: process.pid, startTime: liveStartTime(process.pid) ?? '' }
  let record: LabRecord = { version: 1, plan, owner, persistent: options.persistent === true, createdAt: new Date().toISOString(), hosts: {} }
  writeRecord(root, record)
  const lab = new LiveLab(record, root)
  if (!record.persistent) remember(lab, options.ownerHandlesSignals !== true)
  try {
    mkdirSync(join(dir, 'home'), { recursive: true, mode: 0o755 })
    mkdirSync(join(dir, 'client'), { recursive: true, mode: 0o700 })
    if (mode === 'netns') {
      // sshd running as root needs its privilege-separation directory; Debian's service unit normally makes it.
      mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
      await buildNetwork(plan)
      for (const h of plan.hosts) await addUser(h)
    }
    const clientPub = await makeKey(plan.clientKey, `${plan.prefix}-client`)
    const started = await Promise.all(plan.hosts.map(async (h) => await startHost(plan, h, clientPub)))
    record = withHosts(record, started)
    writeRecord(root, record)
    writeFileSync(join(dir, 'known_hosts'), started.map((s) => s.hostKey).join('\n') + '\n', { mode: 0o644 })
    lab.ready(record)
    return lab
  } catch (err) {
    // The first error is the one worth reporting; teardown is best effort here.
    lab.destroySync()
    throw err
  }
}

function withHosts (record: LabRecord, started: readonly StartedHost[]): LabRecord {
  const hosts: LabRecord['hosts'] = {}
  for (const s of started) hosts[s.plan.name] = { hostKey: s.hostKey, fingerprint: s.fingerprint, sshdPid: s.sshd.pid ?? 0 }
  // Loopback ports are picked at start, so the stored plan carries them.
  const plan: LabPlan = { ...record.plan, hosts: started.map((s) => s.plan) }
  return { ...record, plan, hosts }
}

/** A lab as a record; also what `lab cut/heal/status` rebuild from the state file. */
export class LiveLab implements Lab {
  #record: LabRecord
  readonly #root: string
  #destroyed = false
  readonly #children = new Set<ChildProcess>()

  constructor (record: LabRecord, root: string) {
    this.#record = record
    this.#root = root
  }

  ready (record: LabRecord): void { this.#record = record }

  get id (): number { return this.#record.plan.id }
  get prefix (): string { return this.#record.plan.prefix }
  get mode (): LabMode { return this.#record.plan.mode }
  get dir (): string { return this.#record.plan.dir }
  get clientKey (): string { return this.#record.plan.clientKey }
  get knownHosts (): string { return join(this.#record.plan.dir, 'known_hosts') }
  get stateFile (): string { return join(this.#root, `lab-${this.id}.json`) }
  get record (): LabRecord { return this.#record }

  get hosts (): LabHost[] {
    return this.#record.plan.hosts.map((h) => {
      const r = this.#record.hosts[h.name]
      return { name: h.name, address: h.address, sshPort: h.sshPort, user: h.user, home: h.home, hostKey: r?.hostKey ?? '', fingerprint: r?.fingerprint ?? '' }
    })
  }

  host (name: string): LabHost {
    const h = this.hosts.find((x) => x.name === name)
    if (h == null) throw labError('LAB_UNKNOWN_HOST', `no host ${name} in ${this.prefix} (has ${this.hosts.map((x) => x.name).join(', ')})`)
    return h
  }

  #plan (name: string): HostPlan {
    if (this.#destroyed) throw labError('LAB_DESTROYED', `${this.prefix} was destroyed`)
    this.host(name)
    return this.#record.plan.hosts.find((x) => x.name === name) as HostPlan
  }

  async exec (name: string, argv: readonly string[], options: ExecOptions = {}): Promise<RunResult> {
    const cmd = hostCommand(this.#record.plan, this.#plan(name), argv, options.user ?? 'host', options.env)
    return await run(cmd.argv, { env: cmd.env, cwd: cmd.cwd, input: options.input, timeoutMs: options.timeoutMs, signal: options.signal })
  }

  spawn (name: string, argv: readonly string[], options: Omit<ExecOptions, 'input' | 'timeoutMs'> = {}): ChildProcess {
    const cmd = hostCommand(this.#record.plan, this.#plan(name), argv, options.user ?? 'host', options.env)
    const child = spawn(cmd.argv[0], cmd.argv.slice(1), { env: cmd.env, cwd: cmd.cwd, stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal })
    this.#children.add(child)
    child.once('exit', () => this.#children.delete(child))
    return child
  }

  async cut (name: string): Promise<void> { await this.#link(name, false) }
  async heal (name: string): Promise<void> { await this.#link(name, true) }

  async #link (name: string, up: boolean): Promise<void> {
    const host = this.#plan(name)
    if (this.mode !== 'netns') throw labError('LAB_UNSUPPORTED', `${up ? 'heal' : 'cut'} needs the netns lab; ${this.prefix} runs on loopback, where hosts share one link`)
    await setLink(this.#record.plan, host, up)
  }

  /** Synchronous core of destroy(), also run from the exit hooks. */
  destroySync (): string[] {
    if (this.#destroyed) return []
    this.#destroyed = true
    forget(this)
    for (const child of this.#children) { try { child.kill('SIGKILL') } catch { /* gone */ } }
    const problems = teardownPlan(this.#record.plan, Object.values(this.#record.hosts).map((h) => h.sshdPid))
    removeRecord(this.#root, this.id)
    return problems
  }

  async destroy (): Promise<void> {
    const problems = this.destroySync()
    if (problems.length > 0) throw labError('LAB_COMMAND_FAILED', `${this.prefix} left behind: ${problems.join(', ')}`)
  }
}
