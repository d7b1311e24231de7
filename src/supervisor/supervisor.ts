// The supervisor: one runner per function, orphan reaping at start, the change feed, resource sampling, metrics.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { realClock } from '../core/clock.ts'
import { logger } from '../core/log.ts'
import type { MetricFamily } from '../core/prometheus.ts'
import { defaultBackoff } from './backoff.ts'
import { supervisorError } from './errors.ts'
import { Feed } from '../core/feed.ts'
import { defaultRotate, readLog } from './logfile.ts'
import { reapOrphans } from './pidfile.ts'
import { FunctionRunner } from './runner.ts'
import type { RunnerContext } from './runner.ts'
import { states } from './transitions.ts'
import type { FunctionStatus, LogOptions, Supervisor, SupervisorOptions } from './types.ts'

export function createSupervisor (opts: SupervisorOptions): Supervisor {
  const log = logger('supervisor')
  const feed = new Feed<FunctionStatus>()
  const stopGraceMs = opts.stopGraceMs ?? 10_000
  const rotate = { maxBytes: opts.logMaxBytes ?? defaultRotate.maxBytes, keep: opts.logKeep ?? defaultRotate.keep }
  const ctx: RunnerContext = {
    stateDir: opts.stateDir,
    zone: opts.zone,
    genomeVersion: opts.genomeVersion,
    clock: opts.clock ?? realClock,
    healthIntervalMs: opts.healthIntervalMs ?? 2_000,
    unhealthyAfter: opts.unhealthyAfter ?? 3,
    startTimeoutMs: opts.startTimeoutMs ?? 30_000,
    setupTimeoutMs: opts.setupTimeoutMs ?? 600_000,
    stopGraceMs,
    backoff: { ...defaultBackoff, ...opts.backoff },
    rotate,
    portRange: opts.portRange,
    env: opts.env ?? {},
    usedPorts: new Set<number>(),
    log,
    onChange: (s: FunctionStatus) => feed.publish(s),
    confine: opts.confine ?? null
  }
  const runners = new Map<string, FunctionRunner>()
  for (const spec of opts.functions) {
    if (runners.has(spec.name)) throw new Error(`function ${spec.name} listed twice`)
    runners.set(spec.name, new FunctionRunner(spec, ctx))
  }
  const runner = (name: string): FunctionRunner => {
    const r = runners.get(name)
    if (r == null) throw supervisorError('FUNCTION_UNKNOWN', `no function named ${name} in this cell`)
    return r
  }

  let sampler: NodeJS.Timeout | null = null
  let sampling: AbortController | null = null
  const sampleAll = async (): Promise<void> => {
    if (sampling != null) return // the previous walk is still running: skip a beat rather than pile up
    sampling = new AbortController()
    try {
      await Promise.all([...runners.values()].map(async (r) => r.sample(sampling?.signal).catch((err) => log.debug('sample failed', { function: r.spec.name, err }))))
    } finally {
      sampling = null
    }
  }

  let stopped = false
  return {
    name: 'supervisor',

    async start () {
      for (const d of ['data', 'logs', 'run']) await mkdir(join(opts.stateDir, d), { recursive: true })
      // A previous cell killed with -9 leaves its functions running: kill them first so none runs twice.
      const reaped = await reapOrphans(join(opts.stateDir, 'run'), stopGraceMs, log)
      if (reaped.length > 0) log.info('reaped orphaned functions', { groups: reaped })
      // Functions start independently: one that fails does not hold up or stop the others.
      const first = opts.autostart == null ? null : new Set(opts.autostart)
      for (const r of runners.values()) if (first == null || first.has(r.spec.name)) void r.start()
      sampler = setInterval(() => { void sampleAll() }, opts.sampleIntervalMs ?? 5_000)
      sampler.unref()
    },

    async stop () {
      stopped = true
      if (sampler != null) clearInterval(sampler)
      sampler = null
      sampling?.abort()
      await Promise.all([...runners.values()].map(async (r) => r.stop()))
      for (const r of runners.values()) r.closeLog()
    },

    status: () => [...runners.values()].map((r) => r.status()),
    get: (name) => runners.get(name)?.status(),
    readyPort: (name) => runners.get(name)?.readyPort() ?? null,
    changes: (signal) => feed.subscribe(signal),
    // Once the supervisor stops, a late start (a reconcile racing the cell's shutdown) must not leave a process behind.
    startFunction: async (name) => { if (!stopped) await runner(name).start() },
    stopFunction: async (name) => runner(name).stop(),
    logs: (name: string, o: LogOptions = {}) => readLog(runner(name).logPath, { ...o, keep: rotate.keep }),
    dataDir: (name) => runner(name).dataDir,
    trial: async (spec, genomeVersion, genomeRoot, replay) => await runner(spec.name).trial(spec, genomeVersion, genomeRoot, replay),
    retarget: (specs, genomeVersion, genomeRoot) => {
      const unknown = specs.filter((s) => !runners.has(s.name)).map((s) => s.name)
      if (unknown.length > 0 || specs.length !== runners.size) throw supervisorError('FUNCTION_UNKNOWN', `an update may not add or remove functions here (${unknown.join(', ') || 'a function is missing'})`)
      for (const s of specs) runner(s.name).spec = s
      ctx.genomeVersion = genomeVersion
      if (ctx.confine != null) ctx.confine = { ...ctx.confine, genomeRoot }
    },
    metrics: () => metrics([...runners.values()].map((r) => r.status()))
  }
}

/** Prometheus families for the given statuses (pure). */
export function metrics (all: readonly FunctionStatus[]): MetricFamily[] {
  const per = (f: (s: FunctionStatus) => number) => all.map((s) => ({ labels: { function: s.name }, value: f(s) }))
  return [
    { name: 'organism_function_up', help: '1 when the function is running and healthy.', type: 'gauge', samples: per((s) => s.state === 'running' ? 1 : 0) },
    { name: 'organism_function_restarts_total', help: 'Restarts after the function exited on its own.', type: 'counter', samples: per((s) => s.restarts) },
    { name: 'organism_function_cpu_seconds_total', help: 'CPU seconds used by the function\'s process group.', type: 'counter', samples: per((s) => s.cpuSeconds) },
    { name: 'organism_function_memory_bytes', help: 'Resident memory of the function\'s process group.', type: 'gauge', samples: per((s) => s.memoryBytes) },
    { name: 'organism_function_data_bytes', help: 'Bytes in the function\'s data directory.', type: 'gauge', samples: per((s) => s.dataBytes) },
    {
      name: 'organism_function_state',
      help: 'The function\'s state: 1 for the current one.',
      type: 'gauge',
      samples: all.flatMap((s) => states.map((st) => ({ labels: { function: s.name, state: st }, value: s.state === st ? 1 : 0 })))
    }
  ]
}
