// The sampler (pure): a short history of load samples, just long enough for the genome's window.
import type { Measures, Sample, SamplerState, TimedSample } from './types.ts'

/** A bound on memory whatever the sampling rate: a window rarely needs more than a few hundred. */
export const MAX_SAMPLES = 4096

export const ZERO: Measures = { rps: 0, users: 0, dataBytes: 0, cpuCores: 0, memoryBytes: 0 }

export function createSampler (windowMs: number): SamplerState {
  return { keepMs: Math.max(0, windowMs), samples: [], clockWentBackAt: null }
}

export function sumMeasures (all: Iterable<Measures>): Measures {
  let rps = 0; let users = 0; let dataBytes = 0; let cpuCores = 0; let memoryBytes = 0
  for (const m of all) {
    rps += finite(m.rps); users += finite(m.users); dataBytes += finite(m.dataBytes)
    cpuCores += finite(m.cpuCores); memoryBytes += finite(m.memoryBytes)
  }
  return { rps, users, dataBytes, cpuCores, memoryBytes }
}

/** Adds a sample taken at `now` and forgets what the window no longer needs. */
export function observe (state: SamplerState, sample: Sample, now: number): SamplerState {
  const timed: TimedSample = { at: now, functions: sample.functions, totals: sample.totals ?? sumMeasures(Object.values(sample.functions)) }
  const last = state.samples.at(-1)
  if (last != null && now < last.at) {
    // The clock went backwards: history measured on the old clock cannot say how long load lasted, so start over.
    return { keepMs: state.keepMs, samples: [timed], clockWentBackAt: now }
  }
  // Two samples at one instant: the later one is the better reading.
  const kept = last != null && last.at === now ? state.samples.slice(0, -1) : state.samples.slice()
  kept.push(timed)
  const from = now - state.keepMs
  let drop = 0
  while (drop < kept.length - 1 && kept[drop].at < from) drop++
  if (kept.length - drop > MAX_SAMPLES) drop = kept.length - MAX_SAMPLES
  return { keepMs: state.keepMs, samples: drop > 0 ? kept.slice(drop) : kept, clockWentBackAt: state.clockWentBackAt }
}

/** The samples in the window [now − windowMs, now], oldest first; samples "from the future" are left out. */
export function inWindow (state: SamplerState, windowMs: number, now: number): TimedSample[] {
  return state.samples.filter((s) => s.at >= now - windowMs && s.at <= now)
}

function finite (n: number): number {
  return Number.isFinite(n) ? n : 0
}
