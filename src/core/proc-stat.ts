// Who a pid is: /proc/<pid>/stat parsed once, for every module that must tell a live process from a reused pid or a zombie.
import { readFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'

export interface ProcStat {
  readonly pid: number
  readonly state: string
  readonly pgid: number
  /** Clock ticks since boot when the process started: with the pid, a stable identity (pids get reused). */
  readonly startTime: number
  /** utime + stime + cutime + cstime, in ticks. */
  readonly cpuTicks: number
}

/** Parses /proc/<pid>/stat; the command name is in parentheses and may itself hold spaces or ')'. */
export function parseStat (pid: number, text: string): ProcStat | null {
  const close = text.lastIndexOf(')')
  if (close < 0) return null
  const f = text.slice(close + 2).trim().split(' ')
  // f[0] is field 3 (state); field k is f[k - 3].
  const num = (field: number): number => Number(f[field - 3])
  return { pid, state: f[0], pgid: num(5), startTime: num(22), cpuTicks: num(14) + num(15) + num(16) + num(17) }
}

export async function readStat (pid: number): Promise<ProcStat | null> {
  try { return parseStat(pid, await readFile(`/proc/${pid}/stat`, 'utf8')) } catch { return null }
}

export function readStatSync (pid: number): ProcStat | null {
  try { return parseStat(pid, readFileSync(`/proc/${pid}/stat`, 'utf8')) } catch { return null }
}

/**
 * A live process: present and not a zombie. A killed orphan stays a zombie, with its pid and start time,
 * until pid 1 reaps it, and a container's pid 1 may never do so: only the state tells it is gone.
 */
export function isLive (s: ProcStat | null): s is ProcStat {
  return s != null && s.state !== 'Z' && s.state !== 'X'
}

/** The start time of a live process, as a string for lock and record files; null when it is gone or a zombie. */
export function liveStartTime (pid: number): string | null {
  const s = readStatSync(pid)
  return isLive(s) ? String(s.startTime) : null
}
