// The division policy (pure): has a limit been passed for the whole window, and which function goes.
import { inWindow } from './sampler.ts'
import type { Decision, DecideInput, DivideReason, MeasureName, PassedLimit, SamplerState, TimedSample } from './types.ts'
import type { DivisionLimits } from '../genome/types.ts'
import { LIMITS, amount, duration, labelOf, share } from './words.ts'

/** The samples in the window must span at least this share of it: a limit passed for 50 s of 60 is not "the window". */
export const MIN_COVERAGE = 0.9
/** Fewer samples than this cannot tell a sustained load from two unlucky readings. */
export const MIN_SAMPLES = 5
/** No hole between samples (or before now) longer than this share of the window: the cell may have been asleep. */
export const MAX_GAP_SHARE = 0.25

/** How often the loop should sample so that a window can be judged: twelve readings per window (a margin over 90 %), at most every 5 s. */
export function sampleEveryMs (windowMs: number): number {
  return Math.max(100, Math.min(5000, Math.floor(windowMs / 12)))
}

export type Coverage = { ok: true, samples: TimedSample[] } | { ok: false, coveredMs: number }

/**
 * Whether the history can judge the window [now − windowMs, now]: at least MIN_SAMPLES samples in it, the oldest
 * and newest at least MIN_COVERAGE × window apart, and no gap (nor the time since the newest) over MAX_GAP_SHARE × window.
 */
export function coverage (state: SamplerState, windowMs: number, now: number): Coverage {
  const samples = inWindow(state, windowMs, now)
  if (samples.length === 0) return { ok: false, coveredMs: 0 }
  const maxGap = windowMs * MAX_GAP_SHARE
  // Count coverage back from now over samples that follow each other without a hole, so that "collecting" progress is honest.
  let first = samples.length - 1
  if (now - samples[first].at > maxGap) return { ok: false, coveredMs: 0 }
  while (first > 0 && samples[first].at - samples[first - 1].at <= maxGap) first--
  const run = samples.slice(first)
  const coveredMs = run.at(-1)!.at - run[0].at
  if (run.length < MIN_SAMPLES || coveredMs < windowMs * MIN_COVERAGE) return { ok: false, coveredMs }
  return { ok: true, samples: run }
}

/** Limits (not null) whose cell total stayed strictly above the limit in every sample given, most exceeded first. */
export function passedLimits (limits: DivisionLimits, samples: readonly TimedSample[]): PassedLimit[] {
  const passed: Array<PassedLimit & { ratio: number }> = []
  if (samples.length === 0) return passed
  for (const { limit, measure } of LIMITS) {
    const threshold = limits[limit]
    if (threshold == null || !(threshold > 0)) continue
    const value = Math.min(...samples.map((s) => s.totals[measure]))
    if (value > threshold) passed.push({ limit, value, threshold, ratio: value / threshold })
  }
  // LIMITS' order breaks ties (sort is stable).
  return passed.sort((a, b) => b.ratio - a.ratio).map(({ limit, value, threshold }) => ({ limit, value, threshold }))
}

/** Mean load of each local function over the samples, by one measure; a function missing from a sample counts 0 there. */
export function loadsBy (measure: MeasureName, samples: readonly TimedSample[], functions: readonly string[]): Map<string, number> {
  const loads = new Map<string, number>()
  for (const fn of functions) {
    let sum = 0
    for (const s of samples) {
      const v = s.functions[fn]?.[measure] ?? 0
      sum += Number.isFinite(v) ? v : 0
    }
    loads.set(fn, samples.length === 0 ? 0 : sum / samples.length)
  }
  return loads
}

/** The function to hand off: highest load, then the name that sorts first. */
export function pickFunction (loads: ReadonlyMap<string, number>): string | null {
  let best: string | null = null
  let bestLoad = -Infinity
  for (const [fn, load] of [...loads].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)) {
    if (load > bestLoad) { best = fn; bestLoad = load }
  }
  return best
}

export function decide (state: SamplerState, input: DecideInput): Decision {
  const { limits, now } = input
  if (input.dividing) return wait('dividing', 'a division is under way')

  if (input.lastDivisionAt != null) {
    let last = input.lastDivisionAt
    // The clock went back past the last division: count the cooldown from when the sampler saw the jump, not from a time in the future.
    if (last > now) last = state.clockWentBackAt != null && state.clockWentBackAt <= now ? state.clockWentBackAt : now
    const left = last + limits.cooldownMs - now
    if (left > 0) return wait('cooldown', `cooling down after the last division (${duration(left)} left)`)
  }

  const used = LIMITS.filter(({ limit }) => limits[limit] != null && (limits[limit] as number) > 0)
  if (used.length === 0) return wait('no-limits', 'the genome sets no division limit')

  const window = duration(limits.windowMs)
  const cover = coverage(state, limits.windowMs, now)
  if (!cover.ok) return wait('collecting', `collecting load: ${duration(cover.coveredMs)} of the ${window} window seen`)

  const passed = passedLimits(limits, cover.samples)
  if (passed.length === 0) {
    const latest = cover.samples.at(-1)!.totals
    const levels = used.map(({ limit, measure }) => `${labelOf(limit)} ${amount(limit, latest[measure])} of ${amount(limit, limits[limit] as number)}`)
    return wait('under', `no limit passed for ${window} (${levels.join(', ')})`)
  }

  const top = passed[0]
  const over = `${labelOf(top.limit)} ${amount(top.limit, top.value)} > ${amount(top.limit, top.threshold)} for ${window}`
  const measure = LIMITS.find((l) => l.limit === top.limit)!.measure
  const noHost = `but the host pool has no free host (add one with \`cell hosts add\`)`
  // The busiest function of all decides when it runs on several cells: it grows by an instance, not by a hand-off.
  const growth = new Map((input.instances ?? []).map((g) => [g.fn, g]))
  const busiest = pickFunction(loadsBy(measure, cover.samples, [...new Set([...input.localFunctions, ...growth.keys()])]))
  const g = busiest == null ? undefined : growth.get(busiest)
  if (g != null && g.grow !== 'at-max') {
    const load = loadsBy(measure, cover.samples, [g.fn]).get(g.fn) ?? 0
    const reason = (text: string): DivideReason => ({ ...top, load, text })
    if (g.grow === 'instance') return { kind: 'add-instance', function: g.fn, reason: reason(`${over}; adding a cell to the ${g.count} that run ${g.fn} (${share(top.limit, load)})`) }
    if (!input.poolHasFreeHost) return wait('no-host', `${over}; every cell runs ${g.fn}, ${noHost}`)
    return { kind: 'divide', function: g.fn, reason: reason(`${over}; every cell runs ${g.fn}: growing onto a new cell for another instance (${share(top.limit, load)})`) }
  }
  const atMax = g == null ? '' : ` (${g.fn} runs on its most cells already: ${g.max})`
  const local = [...new Set(input.localFunctions)]
  if (local.length <= 1) {
    const only = local.length === 1 ? ` (${local[0]})` : ''
    return wait('last-function', `${over}${atMax}; but a cell keeps its last function${only}`)
  }
  if (!input.poolHasFreeHost) return wait('no-host', `${over}${atMax}; ${noHost}`)

  const loads = loadsBy(measure, cover.samples, local)
  const fn = pickFunction(loads)!
  const load = loads.get(fn) ?? 0
  return { kind: 'divide', function: fn, reason: { ...top, load, text: `${over}; handing off ${fn} (${share(top.limit, load)})` } }
}

function wait (why: Extract<Decision, { kind: 'wait' }>['why'], reason: string): Decision {
  return { kind: 'wait', why, reason }
}

