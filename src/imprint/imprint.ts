// imprint(): the named steps that make an empty host a running cell, with progress events and full rollback.
import { randomBytes } from 'node:crypto'
import { isOrganismError } from '../core/errors.ts'
import { logger } from '../core/log.ts'
import { bundleGenome, localRuntimeFor, runtimeSuitable, etcdToCarry } from './artifacts.ts'
import type { Claimant } from './claim.ts'
import type { GenomePin } from '../genome/index.ts'
import { CLAIM_DIR, claimHost, releaseHost, sameClaimant } from './claim.ts'
import { imprintError } from './errors.ts'
import type { Executor } from './executor.ts'
import { parseJournal, rollbackPlan } from './journal.ts'
import type { Probe } from './preflight.ts'
import { DONE_FILE, JOURNAL, PROBE_SCRIPT, parseProbe, platformOf, preflightProblems } from './preflight.ts'
import type { CellArgs } from './service.ts'
import { layoutFor } from './service.ts'
import type { CalledHome, StepContext } from './steps.ts'
import { allSettled, configure, copyCell, copyEtcd, copyGenome, copyRuntime, finish, serviceMode, startCell, waitJoined } from './steps.ts'
import { statSync } from 'node:fs'
import type { RuntimePacks } from './runtime-pack.ts'

const log = logger('imprint')

export const STEPS = ['connect', 'preflight', 'claim', 'copy-runtime', 'copy-cell', 'copy-genome', 'configure', 'start', 'join'] as const
export type StepName = typeof STEPS[number]

export interface ProgressEvent {
  readonly step: StepName | 'rollback'
  readonly phase: 'start' | 'done' | 'skip' | 'fail'
  readonly ms?: number
  readonly detail?: string
}

/** How to reach the host; called again for the rollback when the first connection was lost. */
export interface ImprintTarget {
  readonly name: string
  connect: (signal?: AbortSignal) => Promise<Executor>
}

export interface ImprintOptions {
  readonly genomeRepo: string
  /** The commit (or ref) to imprint; it is verified here, and again by the new cell itself. */
  readonly commit: string
  /** The cell as one bundled file (buildCellBundle, in cell-bundle.ts). */
  readonly bundlePath: string
  /** Node 24 for the host's platform; default this process's own binary when the platforms match. */
  readonly nodeBinary?: string
  /** That binary packed (makeRuntimePacks): one the host can unpack is copied instead, a third of the bytes. */
  readonly runtimePacks?: RuntimePacks | null
  /**
   * This machine's etcd, carried to a host that has none (as the Node runtime is), so that the new cell can vote in
   * the ownership store; null: none here. `always` carries it even to a host that has its own (tests).
   */
  readonly etcdBinary?: string | null
  readonly carryEtcd?: 'auto' | 'always'
  /** A one-time token from the parent's running cell (`cell admit`), or a function that fetches one. */
  readonly token: string | (() => Promise<string>)
  /** The parent cell's genome pin: the new cell trusts what descends from it (null: it pins the commit it gets). */
  readonly pin?: GenomePin | null
  readonly claimant: Claimant
  readonly cell: Omit<CellArgs, 'commit'>
  readonly signal?: AbortSignal
  readonly onProgress?: (e: ProgressEvent) => void
  readonly joinTimeoutMs?: number
  /**
   * The parent's own view of the organism: the new cell's peer id (and the members alive) once its signed record has
   * reached the parent (it called home), else null. Polled in memory, it answers sooner than asking the host, which is
   * asked when this is absent.
   */
  readonly calledHome?: CalledHome
  /** Run the cell detached without a reboot hook or unit (the demo's hosts on this machine). */
  readonly transient?: boolean
  /** Tests: fail at the end of this step (after its work), so that rollback has something to undo. */
  readonly failAt?: StepName
  /** Tests: on failure, leave everything as a parent that died would (no rollback, claim kept). */
  readonly noRollback?: boolean
}

export interface ImprintResult {
  readonly host: string
  readonly executor: 'ssh' | 'local'
  readonly home: string
  readonly commit: string
  readonly cellId: string
  readonly service: 'systemd' | 'detached'
  readonly runtime: 'copied' | 'skipped'
  /** What the host can unpack a packed runtime with. */
  readonly hostTools: { readonly zstd: boolean, readonly gzip: boolean }
  readonly bytes: number
  readonly timings: Partial<Record<StepName, number>>
}

const RESERVE_KB = 64 * 1024

/** Runs the rollback plan of the journal files named (relative to $HOME); best effort per entry, all attempted. */
async function undoJournal (ex: Executor, files: readonly string[]): Promise<number> {
  const j = await ex.exec(`cat ${files.map((f) => `"$HOME"/${f}`).join(' ')} 2>/dev/null`, { timeoutMs: 20_000 })
  const entries = parseJournal(j.stdout)
  for (const cmd of rollbackPlan(entries)) {
    const r = await ex.exec(cmd, { timeoutMs: 30_000 })
    if (r.code !== 0) log.warn('a rollback command failed', { host: ex.name, code: r.code, stderr: r.stderr.trim().slice(-200) })
  }
  return entries.length
}

/** Reads the journal on the host and undoes it; then releases the claim. */
export async function cleanupHost (ex: Executor, claimant: Claimant): Promise<number> {
  const n = await undoJournal(ex, [JOURNAL])
  await releaseHost(ex, claimant, { timeoutMs: 20_000 })
  return n
}

/**
 * Undoes a finished imprint from its kept journal: the cell and its functions stop, every file of ours goes,
 * the claim too. For cells made for one session (the demo's); a real host keeps its cell.
 */
export async function retireHost (ex: Executor): Promise<number> {
  const n = await undoJournal(ex, [DONE_FILE, JOURNAL])
  await ex.exec(`rm -rf "$HOME"/${CLAIM_DIR}`, { timeoutMs: 20_000 })
  return n
}

export async function imprint (target: ImprintTarget, opts: ImprintOptions): Promise<ImprintResult> {
  const emit = opts.onProgress ?? (() => {})
  const timings: Partial<Record<StepName, number>> = {}
  const imprintId = `${opts.claimant.cell.slice(-12).replace(/[^\w-]/g, '')}-${randomBytes(4).toString('hex')}`
  let ex: Executor | null = null
  let claimed = false
  let bytes = 0
  const step = async <T>(name: StepName, body: () => Promise<T>): Promise<T> => {
    const t0 = performance.now()
    emit({ step: name, phase: 'start' })
    const out = await body()
    if (opts.failAt === name) throw imprintError('IMPRINT_INJECTED', `failure injected at the end of step ${name}`)
    timings[name] = Math.round(performance.now() - t0)
    emit({ step: name, phase: out === 'skipped' ? 'skip' : 'done', ms: timings[name] })
    return out
  }
  // Verified and bundled while we connect; nothing is written to the host before it is ready.
  const bundling = bundleGenome(opts.genomeRepo, opts.commit)
  bundling.catch(() => {})
  let current: StepName = 'connect'
  try {
    ex = await step(current, async () => await target.connect(opts.signal))
    const connected = ex
    current = 'preflight'
    const genome = await bundling
    const probe = await step(current, async () => {
      let p: Probe = parseProbe((await connected.exec(PROBE_SCRIPT, { signal: opts.signal })).stdout)
      if (p.holder != null && sameClaimant(p.holder, opts.claimant)) {
        if (p.imprinted) throw imprintError('IMPRINT_CLAIMED', `${connected.name} already holds a cell imprinted by ${p.holder.cell}`, { details: { holder: p.holder } })
        // Our own earlier attempt died half-way: undo what its journal lists, then start over.
        log.info('cleaning up an earlier attempt', { host: connected.name, since: p.holder.at })
        await cleanupHost(connected, opts.claimant)
        p = parseProbe((await connected.exec(PROBE_SCRIPT, { signal: opts.signal })).stdout)
      }
      const platform = platformOf(p.os, p.arch)
      const suitable = runtimeSuitable(p.nodeVersion)
      const nodeBytes = platform == null || suitable ? 0 : statSync(localRuntimeFor(platform, opts.nodeBinary)).size
      const etcd = etcdToCarry(opts.etcdBinary ?? null, p.etcd, opts.carryEtcd)
      const etcdBytes = etcd == null ? 0 : statSync(etcd).size
      const requiredKb = Math.ceil((nodeBytes + etcdBytes + statSync(opts.bundlePath).size + genome.bytes * 3) / 1024) + RESERVE_KB
      const problems = preflightProblems(p, { tcpPorts: [opts.cell.routerPort, opts.cell.peerPort ?? 0], udpPorts: [opts.cell.dnsPort], requiredKb, listen: opts.cell.listen })
      if (problems.length > 0) {
        const [first] = problems
        throw imprintError(first.code as 'IMPRINT_PREFLIGHT_OS', problems.map((e) => e.message).join('; '), { hint: first.hint, details: { ...first.details, problems: problems.map((e) => e.toJSON()) } })
      }
      return p
    })
    const platform = platformOf(probe.os, probe.arch) as string
    current = 'claim'
    await step(current, async () => { await claimHost(connected, opts.claimant, { signal: opts.signal }); claimed = true })
    const c: StepContext = { ex: connected, layout: layoutFor(probe.home), probe, imprintId, transient: opts.transient === true, signal: opts.signal, copied: (n) => { bytes += n } }
    // The three copies share the connection at once: the small ones finish while the runtime is still on its way.
    // Each is still its own step (progress, timings, an injected failure); a failure names the step that failed.
    const failedSteps: StepName[] = []
    const copying = <T>(name: StepName, body: () => Promise<T>): Promise<T> => step(name, body).catch((err: unknown) => { failedSteps.push(name); throw err })
    const [runtime] = await allSettled([
      copying('copy-runtime', async () => {
        const copied = await copyRuntime(c, localRuntimeFor(platform, opts.nodeBinary), runtimeSuitable(probe.nodeVersion), opts.runtimePacks)
        const etcd = etcdToCarry(opts.etcdBinary ?? null, probe.etcd, opts.carryEtcd)
        if (etcd != null) await copyEtcd(c, etcd)
        return copied
      }),
      copying('copy-cell', async () => { await copyCell(c, opts.bundlePath) }),
      copying('copy-genome', async () => { await copyGenome(c, genome.file, genome.commit) })
    ]).catch((err: unknown) => { current = failedSteps[0] ?? current; throw err })
    current = 'configure'
    const token = typeof opts.token === 'string' ? opts.token : await opts.token()
    await step(current, async () => { await configure(c, { ...opts.cell, commit: genome.commit }, token, opts.pin ?? null) })
    const mode = serviceMode(c)
    current = 'start'
    await step(current, async () => { await startCell(c, mode) })
    current = 'join'
    const joined = await step(current, async () => await waitJoined(c, mode, opts.joinTimeoutMs ?? 60_000, opts.calledHome))
    await finish(c)
    log.info('imprinted', { host: connected.name, cell: joined.cellId, members: joined.members, timings })
    return { host: connected.name, executor: connected.kind, home: probe.home, commit: genome.commit, cellId: joined.cellId, service: mode, runtime, hostTools: { zstd: probe.zstd, gzip: probe.gzip }, bytes, timings }
  } catch (err) {
    emit({ step: current, phase: 'fail', detail: isOrganismError(err) ? err.code : (err as Error).message })
    if (claimed && opts.noRollback !== true) await rollback(target, ex, opts.claimant, emit, err)
    throw err
  } finally {
    await ex?.close().catch(() => {})
    await (await bundling.catch(() => null))?.cleanup()
  }
}

async function rollback (target: ImprintTarget, ex: Executor | null, claimant: Claimant, emit: (e: ProgressEvent) => void, cause: unknown): Promise<void> {
  const t0 = performance.now()
  emit({ step: 'rollback', phase: 'start', detail: isOrganismError(cause) ? cause.code : undefined })
  try {
    // The first connection may be the thing that failed (cut, aborted mid-command): use a fresh one when it does not answer.
    let live = ex
    if (live == null || (await live.exec('true', { timeoutMs: 5_000 }).catch(() => null))?.code !== 0) {
      await live?.close().catch(() => {})
      live = await target.connect()
    }
    const n = await cleanupHost(live, claimant)
    if (live !== ex) await live.close()
    emit({ step: 'rollback', phase: 'done', ms: Math.round(performance.now() - t0), detail: `${n} journal entries undone` })
  } catch (err) {
    // The journal stays on the host: the next attempt by this claimant reads it and cleans up first.
    log.error('rollback failed; the next attempt will clean up from the journal', { host: target.name, err })
    emit({ step: 'rollback', phase: 'fail', detail: (err as Error).message })
  }
}
