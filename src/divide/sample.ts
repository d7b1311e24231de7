// Turns what the cell already reports (router traffic, supervisor usage) into a policy sample (pure).
import type { Measures, Sample } from './types.ts'

/** The parts of a function's report the policy reads (a FunctionReport from cell status fits). */
export interface FunctionReading {
  readonly name: string
  readonly cpuSeconds: number
  readonly memoryBytes: number
  readonly dataBytes: number
  readonly traffic: { readonly requestsPerSecond: number, readonly distinctUsers: number }
}

/** Cumulative CPU seconds per function at one time: CPU in cores is the rate between two of these. */
export interface CpuReading {
  readonly at: number
  readonly seconds: Readonly<Record<string, number>>
}

/**
 * One sample from the local functions' readings at `now`, and the CPU reading to pass next time.
 * The first call (no previous reading) counts CPU as 0: one low sample only delays a CPU division by one tick.
 */
export function sampleOf (readings: readonly FunctionReading[], previous: CpuReading | null, now: number): { sample: Sample, cpu: CpuReading } {
  const functions: Record<string, Measures> = {}
  const seconds: Record<string, number> = {}
  const elapsedS = previous == null ? 0 : (now - previous.at) / 1000
  for (const r of readings) {
    seconds[r.name] = r.cpuSeconds
    const before = previous?.seconds[r.name]
    // A counter that went down (a new supervisor) or a clock that did not move gives no rate this tick.
    const cpuCores = before != null && elapsedS > 0 && r.cpuSeconds >= before ? (r.cpuSeconds - before) / elapsedS : 0
    functions[r.name] = {
      rps: r.traffic.requestsPerSecond,
      users: r.traffic.distinctUsers,
      dataBytes: r.dataBytes,
      cpuCores,
      memoryBytes: r.memoryBytes
    }
  }
  return { sample: { functions }, cpu: { at: now, seconds } }
}
