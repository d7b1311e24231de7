// One cell per state directory: a lock file naming the pid and its start time, so a pid reused after kill -9 is not mistaken for the cell.
import { readFile, writeFile, rm, mkdir } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { cellError } from './errors.ts'

interface LockRecord { pid: number, startTime: string }

/** Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), or null if it is gone. */
export function processStartTime (pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch { return null }
}

/** The live holder of the lock, or null when the lock is free or stale. */
export async function lockHolder (file: string): Promise<number | null> {
  let rec: LockRecord
  try { rec = JSON.parse(await readFile(file, 'utf8')) as LockRecord } catch { return null }
  return processStartTime(rec.pid) === rec.startTime ? rec.pid : null
}

export async function acquireLock (file: string): Promise<() => Promise<void>> {
  try { await mkdir(dirname(file), { recursive: true, mode: 0o700 }) } catch (cause) {
    throw cellError('CELL_STATE_UNWRITABLE', `cannot create the state directory ${dirname(file)}`, { cause })
  }
  const holder = await lockHolder(file)
  if (holder != null && holder !== process.pid) {
    throw cellError('CELL_ALREADY_RUNNING', `a cell (pid ${holder}) already runs with the state directory ${dirname(file)}`)
  }
  const rec: LockRecord = { pid: process.pid, startTime: processStartTime(process.pid) ?? '' }
  try { await writeFile(file, JSON.stringify(rec), { mode: 0o600 }) } catch (cause) {
    throw cellError('CELL_STATE_UNWRITABLE', `cannot write ${file}`, { cause })
  }
  return async () => { if (await lockHolder(file) === process.pid) await rm(file, { force: true }) }
}
