// Division by itself: sample this cell's load, ask the pure policy, and divide onto a free pool host when it says so.
import { logger } from '../core/log.ts'
import type { DivisionLimits } from '../genome/types.ts'
import type { Supervisor } from '../supervisor/index.ts'
import type { Router } from '../router/index.ts'
import { createSampler, observe, decide, sampleOf, sampleEveryMs } from '../divide/index.ts'
import type { CpuReading, Decision } from '../divide/index.ts'

const log = logger('division')

export interface DivisionLoopOptions {
  limits: DivisionLimits
  supervisor: Supervisor
  router: Router
  localFunctions: () => string[]
  /** True when the host pool has a host no cell has claimed. */
  poolHasFreeHost: () => Promise<boolean>
  /** Performs one division handing off `fn`; resolves when the new cell serves it. */
  divide: (fn: string, reason: string) => Promise<void>
}

export interface DivisionLoop {
  /** The last decision in words, for `cell status`. */
  lastDecision: () => string
  stop: () => void
}

export function startDivisionLoop (opts: DivisionLoopOptions): DivisionLoop {
  let sampler = createSampler(opts.limits.windowMs)
  let cpu: CpuReading | null = null
  let lastDivisionAt: number | null = null
  let dividing = false
  let last = 'collecting samples'
  const tick = async (): Promise<void> => {
    const now = Date.now()
    const readings = opts.supervisor.status().filter((s) => s.state === 'running').map((s) => ({
      name: s.name, cpuSeconds: s.cpuSeconds, memoryBytes: s.memoryBytes, dataBytes: s.dataBytes, traffic: opts.router.stats(s.name)
    }))
    const next = sampleOf(readings, cpu, now)
    cpu = next.cpu
    sampler = observe(sampler, next.sample, now)
    const poolHasFreeHost = await opts.poolHasFreeHost().catch(() => false)
    const d: Decision = decide(sampler, { limits: opts.limits, now, lastDivisionAt, poolHasFreeHost, localFunctions: opts.localFunctions(), dividing })
    last = d.kind === 'divide' ? d.reason.text : d.reason
    if (d.kind !== 'divide') return
    dividing = true
    lastDivisionAt = now
    log.info('dividing', { function: d.function, reason: d.reason.text })
    try {
      await opts.divide(d.function, d.reason.text)
    } catch (err) {
      log.warn('division failed; will try again after the cooldown', { function: d.function, err })
    } finally {
      dividing = false
      // A fresh window: the load that made us divide has moved away with the function.
      sampler = createSampler(opts.limits.windowMs)
    }
  }
  const timer = setInterval(() => { void tick().catch((err) => log.warn('division tick failed', { err })) }, sampleEveryMs(opts.limits.windowMs))
  timer.unref()
  return { lastDecision: () => last, stop: () => { clearInterval(timer) } }
}
