// Division by itself: the pure policy (sampler + decide) and the load generator that exercises it.
/*
 * Example (the loop that wires it, every sampleEveryMs(limits.windowMs)):
 *
 *   let sampler = createSampler(genome.division.windowMs)
 *   let cpu: CpuReading | null = null
 *   const { sample, cpu: next } = sampleOf(localReports, cpu, clock.now()); cpu = next
 *   sampler = observe(sampler, sample, clock.now())
 *   const d = decide(sampler, { limits: genome.division, now: clock.now(), lastDivisionAt, poolHasFreeHost, localFunctions, dividing })
 *   if (d.kind === 'divide') divide(d.function)   // d.reason.text goes to `cell status`
 */
export { createSampler, observe, sumMeasures, MAX_SAMPLES } from './sampler.ts'
export { decide, coverage, passedLimits, loadsBy, pickFunction, sampleEveryMs, MIN_COVERAGE, MIN_SAMPLES, MAX_GAP_SHARE } from './policy.ts'
export { sampleOf } from './sample.ts'
export type { FunctionReading, CpuReading } from './sample.ts'
export type { Measures, MeasureName, Sample, TimedSample, SamplerState, DecideInput, Decision, DivideReason, PassedLimit, LimitName, WaitWhy, InstanceGrowth } from './types.ts'
export { runLoad, formatReport, mostlyFailed, MAX_SECONDS, MAX_RPS, DEFAULT_MAX_IN_FLIGHT } from './load.ts'
export type { LoadOptions, LoadReport } from './load.ts'
export { divideError } from './errors.ts'
export { createDivisionDriver } from './driver.ts'
export type { DivisionDriver, DivisionDriverOptions } from './driver.ts'
export { functionToHandOff, freePoolHost, hostOf } from './pick.ts'
