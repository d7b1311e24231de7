// Plain words for the policy's reasons: what each limit is called and how its values read.
import type { LimitName, MeasureName } from './types.ts'

export const LIMITS: ReadonlyArray<{ limit: LimitName, measure: MeasureName, label: string }> = [
  { limit: 'requestsPerSecond', measure: 'rps', label: 'requests/s' },
  { limit: 'distinctUsers', measure: 'users', label: 'distinct users' },
  { limit: 'dataBytes', measure: 'dataBytes', label: 'data' },
  { limit: 'cpu', measure: 'cpuCores', label: 'CPU' },
  { limit: 'memoryBytes', measure: 'memoryBytes', label: 'memory' }
]

export function labelOf (limit: LimitName): string {
  return LIMITS.find((l) => l.limit === limit)?.label ?? limit
}

/** A value as a user reads it: "240", "1.5 cores", "2.1 GB". */
export function amount (limit: LimitName, n: number): string {
  switch (limit) {
    case 'requestsPerSecond': return num(n)
    case 'distinctUsers': return String(Math.round(n))
    case 'cpu': return `${num(n)} cores`
    case 'dataBytes':
    case 'memoryBytes': return bytes(n)
  }
}

/** A function's share, in the unit of the limit: "180 req/s", "1200 users". */
export function share (limit: LimitName, n: number): string {
  switch (limit) {
    case 'requestsPerSecond': return `${num(n)} req/s`
    case 'distinctUsers': return `${Math.round(n)} users`
    default: return amount(limit, n)
  }
}

export function duration (ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000))
  if (s < 120) return `${s} s`
  if (s < 7200) return `${Math.round(s / 60)} min`
  return `${Math.round(s / 3600)} h`
}

function num (n: number): string {
  if (Math.abs(n) >= 10) return String(Math.round(n))
  return String(Math.round(n * 10) / 10)
}

function bytes (n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let v = n; let i = 0
  while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++ }
  return i === 0 ? `${Math.round(v)} B` : `${Math.round(v * 10) / 10} ${units[i]}`
}
