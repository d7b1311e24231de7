// Linux /proc reading: process identity (start time, group, spawn token) and a process group's CPU and memory.
import { readFile, readdir } from 'node:fs/promises'

/** /proc reports CPU times in USER_HZ, which the kernel ABI fixes at 100 on every Linux architecture. */
const USER_HZ = 100

import { readStat, isLive } from '../core/proc-stat.ts'
import type { ProcStat } from '../core/proc-stat.ts'

export { readStat, isLive }
export type { ProcStat }

export async function listPids (): Promise<number[]> {
  const names = await readdir('/proc')
  return names.filter((n) => /^\d+$/.test(n)).map(Number)
}

/** Live processes in a process group. */
export async function groupMembers (pgid: number): Promise<ProcStat[]> {
  const stats = await Promise.all((await listPids()).map(readStat))
  return stats.filter((s): s is ProcStat => isLive(s) && s.pgid === pgid)
}

/** Environment of a process as KEY=VALUE strings; empty when unreadable (gone, or another user's). */
export async function readEnviron (pid: number): Promise<string[]> {
  try {
    return (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0').filter((e) => e !== '')
  } catch {
    return []
  }
}

/** Live processes whose environment carries exactly `entry` (e.g. ORGANISM_SPAWN=<token>). */
export async function processesWithEnv (entry: string): Promise<ProcStat[]> {
  const found: ProcStat[] = []
  for (const pid of await listPids()) {
    if (pid === process.pid) continue
    if (!(await readEnviron(pid)).includes(entry)) continue
    const s = await readStat(pid)
    if (isLive(s)) found.push(s)
  }
  return found
}

async function rssBytes (pid: number): Promise<number> {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))
    return m == null ? 0 : Number(m[1]) * 1024
  } catch {
    return 0
  }
}

/** CPU seconds and resident memory summed over a process group's live members. */
export async function groupUsage (pgid: number): Promise<{ cpuSeconds: number, memoryBytes: number, pids: number }> {
  const members = await groupMembers(pgid)
  const rss = await Promise.all(members.map((m) => rssBytes(m.pid)))
  return {
    cpuSeconds: members.reduce((a, m) => a + m.cpuTicks, 0) / USER_HZ,
    memoryBytes: rss.reduce((a, b) => a + b, 0),
    pids: members.length
  }
}

/** Sends a signal to a whole group; false when the group is already gone. */
export function signalGroup (pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal)
    return true
  } catch {
    return false
  }
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> => new Promise((resolve) => {
  const t = setTimeout(done, ms)
  function done (): void { clearTimeout(t); signal?.removeEventListener('abort', done); resolve() }
  signal?.addEventListener('abort', done, { once: true })
})
export { sleep }

/** Waits until the group has no live member; true if it emptied within timeoutMs. */
export async function waitGroupGone (pgid: number, timeoutMs: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if ((await groupMembers(pgid)).length === 0) return true
    if (Date.now() >= deadline) return false
    await sleep(pollMs)
  }
}

/** SIGTERM the group, give it graceMs to drain, then SIGKILL; resolves when no member is left (or after a bounded wait). */
export async function terminateGroup (pgid: number, graceMs: number): Promise<'gone' | 'killed' | 'stuck'> {
  if (!signalGroup(pgid, 'SIGTERM')) return 'gone'
  if (await waitGroupGone(pgid, graceMs)) return 'gone'
  signalGroup(pgid, 'SIGKILL')
  return (await waitGroupGone(pgid, 5_000)) ? 'killed' : 'stuck'
}
