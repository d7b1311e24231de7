// Parsing wrk's --latency output (pure): requests/s and latency percentiles in ms.

export interface WrkResult { requestsPerSecond: number, p50Ms: number, p99Ms: number, errors: string | null }

function toMs (value: string, unit: string): number {
  const v = Number(value)
  if (unit === 'us') return v / 1000
  if (unit === 's') return v * 1000
  if (unit === 'm') return v * 60_000
  return v
}

export function parseWrk (out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out)
    if (m == null) throw new Error(`wrk output has no ${p}% latency line:\n${out}`)
    return toMs(m[1], m[2])
  }
  if (rps == null) throw new Error(`wrk output has no Requests/sec line:\n${out}`)
  const errs = /Socket errors:[^\n]*|Non-2xx or 3xx responses:[^\n]*/g
  const found = out.match(errs)
  return { requestsPerSecond: Number(rps[1]), p50Ms: pct('50'), p99Ms: pct('99'), errors: found == null ? null : found.join('; ') }
}
