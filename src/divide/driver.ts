// Division by itself, the loop: sample this cell's load, ask the pure policy, and divide onto a free pool host when it
// says so. Time and timers come from the injected clock, so a simulator runs it on fake time.
import { logger } from '../core/log.ts'
import type { Scheduler } from '../core/clock.ts'
import type { Startable } from '../core/lifecycle.ts'
import type { DivisionLimits } from '../genome/types.ts'
import { createSampler, observe } from './sampler.ts'
import { decide, sampleEveryMs } from './policy.ts'
import { sampleOf } from './sample.ts'
import type { CpuReading, FunctionReading } from './sample.ts'
import type { Decision, InstanceGrowth } from './types.ts'

const log = logger('division')

export interface DivisionDriverOptions {
  limits: DivisionLimits
  clock: Scheduler
  /** What the running functions here use now (traffic, CPU seconds, memory, data). */
  readings: () => FunctionReading[]
  localFunctions: () => string[]
  /** True when the host pool has a host no cell has claimed. */
  poolHasFreeHost: () => Promise<boolean>
  /** Performs one division handing off `fn`; resolves when the new cell serves it. */
  divide: (fn: string, reason: string) => Promise<void>
  /** Stateless functions running here and how each could grow; asking for one more instance of one. */
  instances?: () => InstanceGrowth[]
  addInstance?: (fn: string, reason: string) => void
}

export interface DivisionDriver extends Startable {
  /** The last decision in words, for `cell status`. */
  lastDecision: () => string
}

export function createDivisionDriver (opts: DivisionDriverOptions): DivisionDriver {
  let sampler = createSampler(opts.limits.windowMs)
  let cpu: CpuReading | null = null
  let lastDivisionAt: number | null = null
  let dividing = false
  let last = 'collecting samples'
  let stopTimer: (() => void) | null = null
  const tick = async (): Promise<void> => {
    const now = opts.clock.now()
    const next = sampleOf(opts.readings(), cpu, now)
    cpu = next.cpu
    sampler = observe(sampler, next.sample, now)
    const poolHasFreeHost = await opts.poolHasFreeHost().catch(() => false)
    const d: Decision = decide(sampler, { limits: opts.limits, now, lastDivisionAt, poolHasFreeHost, localFunctions: opts.localFunctions(), dividing, instances: opts.instances?.() ?? [] })
    last = d.kind === 'wait' ? d.reason : d.reason.text
    if (d.kind === 'add-instance') {
      log.info('asking for another instance', { function: d.function, reason: d.reason.text })
      opts.addInstance?.(d.function, d.reason.text)
      // A fresh window: the next instance is asked for only if this one did not take enough of the load.
      sampler = createSampler(opts.limits.windowMs)
      return
    }
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
  return {
    name: 'division driver',
    lastDecision: () => last,
    start: async () => {
      stopTimer = opts.clock.every(sampleEveryMs(opts.limits.windowMs), () => { void tick().catch((err: unknown) => { log.warn('division tick failed', { err }) }) })
    },
    stop: async () => { stopTimer?.(); stopTimer = null }
  }
}
