// One cell per state directory: a lock file naming the pid and its start time, so a pid reused after kill -9, or the zombie of a killed cell, is not mistaken for the cell.
import { readFile, writeFile, rm, mkdir } from 'node:fs/promises'
import { liveStartTime } from '../core/proc-stat.ts'
import { dirname } from 'node:path'
import { cellError } from './errors.ts'

interface LockRecord { pid: number, startTime: string }

/** The live holder of the lock, or null when the lock is free or stale. */
export async function lockHolder (file: string): Promise<number | null> {
  let rec: LockRecord
  try { rec = JSON.parse(await readFile(file, 'utf8')) as LockRecord } catch { return null }
  return liveStartTime(rec.pid) === rec.startTime ? rec.pid : null
}

export async function acquireLock (file: string): Promise<() => Promise<void>> {
  try { await mkdir(dirname(file), { recursive: true, mode: 0o700 }) } catch (cause) {
    throw cellError('CELL_STATE_UNWRITABLE', `cannot create the state directory ${dirname(file)}`, { cause })
  }
  const holder = await lockHolder(file)
  if (holder != null && holder !== process.pid) {
    throw cellError('CELL_ALREADY_RUNNING', `a cell (pid ${holder}) already runs with the state directory ${dirname(file)}`)
  }
  const rec: LockRecord = { pid: process.pid, startTime: liveStartTime(process.pid) ?? '' }
  try { await writeFile(file, JSON.stringify(rec), { mode: 0o600 }) } catch (cause) {
    throw cellError('CELL_STATE_UNWRITABLE', `cannot write ${file}`, { cause })
  }
  return async () => { if (await lockHolder(file) === process.pid) await rm(file, { force: true }) }
}
