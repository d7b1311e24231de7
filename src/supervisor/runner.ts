// One function's life: data dir, setup, port, spawn, health, restart with backoff, stop. Thin I/O around the pure policies.
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import type { Clock } from '../core/clock.ts'
import type { Logger } from '../core/log.ts'
import type { FunctionSpec } from '../genome/types.ts'
import { restartDelay, recentExits } from './backoff.ts'
import type { BackoffOptions } from './backoff.ts'
import { canTransition, healthVerdict } from './transitions.ts'
import type { FunctionState } from './transitions.ts'
import { supervisorError } from './errors.ts'
import { RotatingLog, tailLines } from './logfile.ts'
import type { RotateOptions } from './logfile.ts'
import { freePort, portInUse, probe } from './net.ts'
import { ensureWritableDir } from './datadir.ts'
import { dirBytes } from '../core/dir-bytes.ts'
import { groupUsage, readStat, signalGroup, sleep, terminateGroup, waitGroupGone } from './proc.ts'
import { SPAWN_VAR, writePidFile } from './pidfile.ts'
import { runToEnd, spawnShell } from './spawn.ts'
import { trialRun } from './trial.ts'
import type { Replay } from './trial.ts'
import type { Spawned, Wrap } from './spawn.ts'
import { jailed, prepareJail } from './confine.ts'
import type { Confinement } from './confine.ts'
import type { FunctionStatus } from './types.ts'

export interface RunnerContext {
  readonly stateDir: string
  readonly zone: string
  /** Changed by an update (retarget), with every runner's spec: setup runs once per version. */
  genomeVersion: string
  readonly clock: Clock
  readonly healthIntervalMs: number
  readonly unhealthyAfter: number
  readonly startTimeoutMs: number
  readonly setupTimeoutMs: number
  readonly stopGraceMs: number
  readonly backoff: BackoffOptions
  readonly rotate: RotateOptions
  readonly portRange?: readonly [number, number]
  readonly env: Readonly<Record<string, string>>
  /** Ports handed to this cell's functions, shared by all runners so two never get the same one. */
  readonly usedPorts: Set<number>
  readonly log: Logger
  readonly onChange: (s: FunctionStatus) => void
  /** Functions as their own users (the cell runs as root); null: as the cell's user. */
  confine: Confinement | null
}

interface Attempt {
  readonly proc: Spawned
  readonly port: number
  readonly ac: AbortController
  /** Set when the cell itself ends the process (stop, never healthy), so the exit is not a crash. */
  expected: boolean
}

type Code = Parameters<typeof supervisorError>[0]
type Mutable<T> = { -readonly [K in keyof T]: T[K] }
/** States after which startFunction() returns: the first outcome of a start. */
const outcomes: readonly FunctionState[] = ['running', 'unhealthy', 'failed', 'backoff', 'crash-loop', 'stopped']
const LAST_LINES = 10
const START_POLL_MS = 100

export class FunctionRunner {
  /** Replaced by an update; the running process keeps the spec it started with until it restarts. */
  spec: FunctionSpec
  readonly dataDir: string
  readonly logPath: string
  private readonly ctx: RunnerContext
  private readonly log: RotatingLog
  private readonly pidPath: string
  private readonly setupMarker: string
  private readonly s: Mutable<FunctionStatus>
  /** Bumped by every start and stop: async steps of an older generation give up. */
  private gen = 0
  private want = false
  private attempt: Attempt | null = null
  private setupAbort: AbortController | null = null
  private setupRun: Promise<unknown> | null = null
  private timer: NodeJS.Timeout | null = null
  private exits: number[] = []
  private cpuBase = 0
  private stopping: Promise<void> | null = null
  private waiters: Array<() => void> = []

  constructor (spec: FunctionSpec, ctx: RunnerContext) {
    this.spec = spec
    this.ctx = ctx
    this.dataDir = join(ctx.stateDir, 'data', spec.name)
    this.logPath = join(ctx.stateDir, 'logs', `${spec.name}.log`)
    this.pidPath = join(ctx.stateDir, 'run', `${spec.name}.json`)
    this.setupMarker = join(ctx.stateDir, 'run', `${spec.name}.setup`)
    this.log = new RotatingLog(this.logPath, ctx.rotate)
    this.s = { name: spec.name, state: 'stopped', port: null, pid: null, restarts: 0, since: ctx.clock.now(), lastExit: null, error: null, nextRestartAt: null, cpuSeconds: 0, memoryBytes: 0, dataBytes: 0 }
  }

  status (): FunctionStatus { return { ...this.s } }

  /** The port to route to: only while health passes and the process is ours. */
  readyPort (): number | null {
    return this.s.state === 'running' && this.attempt != null ? this.attempt.port : null
  }

  /** Starts unless already up (or on its way); resolves at the first outcome. */
  async start (): Promise<void> {
    if (this.stopping != null) await this.stopping
    if (this.want && this.s.state !== 'failed') return
    this.want = true
    const gen = ++this.gen
    let outcome = this.nextOutcome()
    void this.launch(gen)
    await outcome
    // An outcome from before this launch (the exit of the attempt just stopped, seen late on a loaded machine) wakes
    // us too: wait on while this launch is still under way.
    while (gen === this.gen && (this.s.state === 'setup' || this.s.state === 'starting')) {
      outcome = this.nextOutcome()
      await outcome
    }
  }

  async stop (): Promise<void> {
    this.stopping ??= this.doStop().finally(() => { this.stopping = null })
    return await this.stopping
  }

  /** Samples CPU and memory of the process group and the data dir size; cheap enough every few seconds. */
  async sample (signal?: AbortSignal): Promise<void> {
    const a = this.attempt
    if (a != null) {
      const u = await groupUsage(a.proc.pgid)
      if (this.attempt === a && u.pids > 0) { this.s.cpuSeconds = this.cpuBase + u.cpuSeconds; this.s.memoryBytes = u.memoryBytes }
    } else this.s.memoryBytes = 0
    this.s.dataBytes = await dirBytes(this.dataDir, signal)
  }

  private async launch (gen: number): Promise<void> {
    const stale = (): boolean => gen !== this.gen || !this.want
    try {
      const why = await ensureWritableDir(this.dataDir)
      if (stale()) return
      if (why != null) return this.fail('FUNCTION_DATA_DIR_UNWRITABLE', `function ${this.spec.name}: ${why}`)
      const code = await stat(this.spec.codeDir).catch(() => null)
      if (stale()) return
      if (code == null || !code.isDirectory()) return this.fail('FUNCTION_CODE_DIR_MISSING', `function ${this.spec.name}: code directory ${this.spec.codeDir} does not exist`)
      const wrap = await this.jail()
      if (stale()) return
      if (wrap === false) return
      if (this.spec.setup != null && (await readFile(this.setupMarker, 'utf8').catch(() => null)) !== this.ctx.genomeVersion) {
        if (stale()) return
        this.setState('setup')
        this.setupAbort = new AbortController()
        this.log.line('cell', `setup for genome ${this.ctx.genomeVersion}: ${this.spec.setup}`)
        const run = runToEnd(this.spec.setup, this.spec.codeDir, this.env(null, randomUUID()), this.log, this.ctx.setupTimeoutMs, this.ctx.stopGraceMs, this.setupAbort.signal, wrap)
        this.setupRun = run
        const r = await run
        this.setupAbort = null
        this.setupRun = null
        if (stale()) return
        if (r.code !== 0) {
          const how = r.timedOut ? `timed out after ${this.ctx.setupTimeoutMs} ms` : exitText(r.code, r.signal)
          return this.fail('FUNCTION_SETUP_FAILED', `setup of ${this.spec.name} ${how}${await this.lastLines()}`)
        }
        await writeFile(this.setupMarker, this.ctx.genomeVersion)
      }
      const port = await this.pickPort()
      if (port == null || stale()) return
      const token = randomUUID()
      // No await between the last stale() check and spawn: a stop() cannot slip in between.
      this.log.line('cell', `start on port ${port}: ${this.spec.start}`)
      const proc = spawnShell(this.spec.start, this.spec.codeDir, this.env(port, token), this.log, '', wrap)
      const attempt: Attempt = { proc, port, ac: new AbortController(), expected: false }
      this.attempt = attempt
      this.ctx.usedPorts.add(port)
      void proc.exited.then((r) => this.onExit(attempt, r.code, r.signal))
      this.setState('starting', { port, pid: proc.child.pid ?? null, nextRestartAt: null })
      const st = await readStat(proc.pgid)
      await writePidFile(this.pidPath, { function: this.spec.name, pid: proc.pgid, pgid: proc.pgid, startTime: st?.startTime ?? null, token, startedAt: this.ctx.clock.now() })
      await this.watch(attempt)
    } catch (err) {
      this.ctx.log.error('launch failed', { function: this.spec.name, err })
      if (!stale()) this.fail('FUNCTION_EXITED', `function ${this.spec.name} could not be started: ${(err as Error).message}`)
    }
  }

  /** Where the cell runs as root: the function's dirs made its own, and how to run it as its user (false: failed). */
  private async jail (): Promise<Wrap | undefined | false> {
    const c = this.ctx.confine
    if (c == null) return undefined
    const uid = c.uids.get(this.spec.name)
    const fn = { codeDir: this.spec.codeDir, dataDir: this.dataDir, uid: uid ?? -1 }
    const why = uid == null ? 'no uid was set aside for it' : await prepareJail(fn, c).then(() => null, (err: unknown) => (err as Error).message)
    if (why != null) { this.fail('FUNCTION_CONFINE_FAILED', `function ${this.spec.name} cannot run as its own user: ${why}`); return false }
    return (command, env) => jailed(command, fn, c, env)
  }

  private async pickPort (): Promise<number | null> {
    if (this.spec.port != null) {
      if (!(await portInUse(this.spec.port))) return this.spec.port
      this.fail('FUNCTION_PORT_IN_USE', `function ${this.spec.name}: port ${this.spec.port} is already in use on 127.0.0.1`)
      return null
    }
    try {
      return await freePort(this.ctx.usedPorts, this.ctx.portRange)
    } catch (err) {
      this.fail('FUNCTION_NO_FREE_PORT', `function ${this.spec.name}: ${(err as Error).message}`)
      return null
    }
  }

  /** Polls health until 2xx (running) or startTimeoutMs (killed, failed); then checks periodically while it lives. */
  private async watch (a: Attempt): Promise<void> {
    const signal = a.ac.signal
    const deadline = Date.now() + this.ctx.startTimeoutMs
    for (;;) {
      if (signal.aborted) return
      if (await probe(a.port, this.spec.health, Math.min(2_000, this.ctx.startTimeoutMs), signal)) break
      if (signal.aborted) return
      if (Date.now() >= deadline) return await this.neverHealthy(a)
      await sleep(START_POLL_MS, signal)
    }
    this.setState('running', { error: null })
    let failures = 0
    while (!signal.aborted) {
      await sleep(this.ctx.healthIntervalMs, signal)
      if (signal.aborted) return
      const ok = await probe(a.port, this.spec.health, Math.min(2_000, this.ctx.healthIntervalMs), signal)
      if (signal.aborted || this.attempt !== a) return
      failures = ok ? 0 : failures + 1
      const state = this.s.state === 'unhealthy' ? 'unhealthy' : 'running'
      const next = healthVerdict(state, ok, failures, this.ctx.unhealthyAfter)
      if (next !== state) {
        this.log.line('cell', next === 'unhealthy' ? `unhealthy after ${failures} failed health checks` : 'healthy again')
        this.setState(next)
      }
    }
  }

  /** Never healthy: the process is probably misconfigured (wrong port or path), so kill it and fail rather than loop. */
  private async neverHealthy (a: Attempt): Promise<void> {
    const gen = this.gen
    a.expected = true
    a.ac.abort()
    await this.endAttempt(a, this.ctx.stopGraceMs)
    if (gen !== this.gen) return
    this.fail('FUNCTION_NEVER_HEALTHY', `function ${this.spec.name} did not answer 2xx on http://127.0.0.1:${a.port}${this.spec.health} within ${this.ctx.startTimeoutMs} ms${await this.lastLines()}`)
  }

  private async onExit (a: Attempt, code: number | null, signal: string | null): Promise<void> {
    const now = this.ctx.clock.now()
    this.s.lastExit = { code, signal, at: now }
    this.log.line('cell', `process ${exitText(code, signal)}`)
    if (a.expected || this.attempt !== a) return
    const gen = this.gen
    a.ac.abort()
    // The start command's shell is gone; whatever it left in its group must not hold the port for the restart.
    await this.endAttempt(a, 0)
    if (gen !== this.gen || !this.want) return
    this.exits = recentExits([...this.exits, now], now, this.ctx.backoff)
    const d = restartDelay(this.exits, now, this.ctx.backoff)
    const err = supervisorError('FUNCTION_EXITED', `function ${this.spec.name} ${exitText(code, signal)}${await this.lastLines()}`)
    if (gen !== this.gen) return
    this.ctx.log.warn('function exited; restarting', { function: this.spec.name, code, signal, delayMs: d.delayMs, crashLoop: d.crashLoop })
    this.setState(d.crashLoop ? 'crash-loop' : 'backoff', { error: toError(err), nextRestartAt: this.ctx.clock.now() + d.delayMs })
    this.timer = setTimeout(() => {
      this.timer = null
      if (gen !== this.gen || !this.want) return
      this.s.restarts++
      void this.launch(gen)
    }, d.delayMs)
  }

  /** Ends an attempt's process group (TERM, grace, KILL) and releases what it held. */
  private async endAttempt (a: Attempt, graceMs: number): Promise<void> {
    if (graceMs > 0) await terminateGroup(a.proc.pgid, graceMs)
    else { signalGroup(a.proc.pgid, 'SIGKILL'); await waitGroupGone(a.proc.pgid, 5_000) }
    // The bound's timer is cancelled once the process has exited: a stopped supervisor leaves no timer behind.
    const bound = new AbortController()
    await Promise.race([a.proc.exited, sleep(1_000, bound.signal)])
    bound.abort()
    await a.proc.drained(1_000)
    if (this.attempt === a) {
      this.cpuBase = this.s.cpuSeconds
      this.attempt = null
      this.ctx.usedPorts.delete(a.port)
      await rm(this.pidPath, { force: true })
    }
  }

  private async doStop (): Promise<void> {
    this.want = false
    this.gen++
    if (this.timer != null) { clearTimeout(this.timer); this.timer = null }
    const a = this.attempt
    const setup = this.setupAbort
    if (a != null || setup != null) this.setState('stopping')
    setup?.abort()
    // runToEnd is bounded (grace, then SIGKILL), so waiting for it keeps stop() from returning while setup lives.
    await this.setupRun
    if (a != null) {
      a.expected = true
      a.ac.abort()
      await this.endAttempt(a, this.ctx.stopGraceMs)
    }
    this.setState('stopped', { port: null, pid: null, nextRestartAt: null, memoryBytes: 0 })
  }

  private fail (code: Code, message: string): void {
    this.ctx.log.error(message, { function: this.spec.name, code })
    this.log.line('cell', `${code}: ${message.split('\n')[0]}`)
    this.setState('failed', { error: toError(supervisorError(code, message)), port: null, pid: null, nextRestartAt: null })
  }

  private setState (state: FunctionState, patch: Partial<Mutable<FunctionStatus>> = {}): void {
    if (!canTransition(this.s.state, state)) this.ctx.log.warn('unexpected state change', { function: this.spec.name, from: this.s.state, to: state })
    if (state !== this.s.state) this.s.since = this.ctx.clock.now()
    Object.assign(this.s, patch, { state })
    this.ctx.onChange(this.status())
    if (outcomes.includes(state)) for (const w of this.waiters.splice(0)) w()
  }

  private nextOutcome (): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  private env (port: number | null, token: string): NodeJS.ProcessEnv {
    return { ...envOf(this.spec, this.ctx, port, this.dataDir, this.ctx.genomeVersion), [SPAWN_VAR]: token }
  }

  /** A trial of `spec` (the next version) beside what serves now (trial.ts): null when it started healthy. */
  async trial (spec: FunctionSpec, genomeVersion: string, genomeRoot: string, replay?: Replay): Promise<string | null> {
    const c = this.ctx.confine == null ? null : { ...this.ctx.confine, genomeRoot }
    const uid = c?.uids.get(spec.name)
    return await trialRun({
      spec, dataDir: this.dataDir, scratch: join(this.ctx.stateDir, 'trial', spec.name), log: this.log, usedPorts: this.ctx.usedPorts, replay,
      startTimeoutMs: this.ctx.startTimeoutMs, setupTimeoutMs: this.ctx.setupTimeoutMs, stopGraceMs: this.ctx.stopGraceMs,
      // No SPAWN_VAR: a trial is never taken for this function's own process (nor reaped as an orphan of it).
      env: (port, dataDir) => envOf(spec, this.ctx, port, dataDir, genomeVersion),
      wrap: async (dataDir) => {
        if (c == null || uid == null) return undefined
        const fn = { codeDir: spec.codeDir, dataDir, uid }
        await prepareJail(fn, c)
        return (command, env) => jailed(command, fn, c, env)
      }
    })
  }

  private async lastLines (): Promise<string> {
    const lines = await tailLines(this.logPath, LAST_LINES, this.ctx.rotate.keep)
    return lines.length === 0 ? '' : `; last log lines:\n${lines.join('\n')}`
  }

  closeLog (): void { this.log.close() }
}

function envOf (spec: FunctionSpec, ctx: RunnerContext, port: number | null, dataDir: string, genomeVersion: string): NodeJS.ProcessEnv {
  return {
    ...inheritedEnv(process.env),
    ...ctx.env,
    ...spec.env,
    ...(port == null ? {} : { PORT: String(port) }),
    DATA_DIR: dataDir,
    FUNCTION: spec.name,
    ORGANISM_ZONE: ctx.zone,
    ORGANISM_GENOME_VERSION: genomeVersion
  }
}

/**
 * What a function gets of the cell's own environment: where to find programs, its home and locale. Nothing else:
 * the cell may have been started with credentials in its environment that are none of a function's business.
 */
export function inheritedEnv (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(env)) if (/^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|LC_[A-Z]+|TZ|TMPDIR)$/.test(k)) out[k] = v
  return out
}

function exitText (code: number | null, signal: string | null): string {
  return signal != null ? `was killed by ${signal}` : code == null ? 'could not be spawned' : `exited with code ${code}`
}

function toError (e: { code: string, message: string, hint: string }): FunctionStatus['error'] {
  return { code: e.code, message: e.message, hint: e.hint }
}
