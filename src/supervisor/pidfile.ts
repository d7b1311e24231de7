// run/<fn>.json: who a spawned function is (pid, group, start time, token), and reaping ones left by a dead cell.
import { readFile, readdir, rm } from 'node:fs/promises'
import { writeFileAtomic } from '../core/atomic-file.ts'
import { join } from 'node:path'
import { processesWithEnv, readStat, isLive, terminateGroup, signalGroup, waitGroupGone } from './proc.ts'
import type { Logger } from '../core/log.ts'

export const SPAWN_VAR = 'ORGANISM_SPAWN'

export interface PidFile {
  readonly function: string
  readonly pid: number
  readonly pgid: number
  /** /proc/<pid>/stat start time (ticks since boot), null if the process was already gone when read. */
  readonly startTime: number | null
  /** Also in the process environment as ORGANISM_SPAWN=<token>. */
  readonly token: string
  readonly startedAt: number
}

export async function writePidFile (path: string, data: PidFile): Promise<void> {
  // Write then rename, so a cell killed mid-write never leaves half a file.
  await writeFileAtomic(path, JSON.stringify(data) + '\n')
}

export async function readPidFile (path: string): Promise<PidFile | null> {
  try {
    const d = JSON.parse(await readFile(path, 'utf8')) as PidFile
    return typeof d.pid === 'number' && typeof d.token === 'string' ? d : null
  } catch {
    return null
  }
}

/**
 * Process groups that are provably ours: the recorded pid with the recorded start time, or any live
 * process carrying the spawn token (covers a leader that died while its children live on).
 * A reused pid has another start time and no token, so it is never chosen.
 */
export async function orphanGroups (pf: PidFile): Promise<number[]> {
  const groups = new Set<number>()
  const s = await readStat(pf.pid)
  if (isLive(s) && pf.startTime != null && s.startTime === pf.startTime) groups.add(s.pgid)
  for (const p of await processesWithEnv(`${SPAWN_VAR}=${pf.token}`)) groups.add(p.pgid)
  return [...groups]
}

/** Kills every function process group a previous cell left behind in runDir; returns the groups killed. */
export async function reapOrphans (runDir: string, graceMs: number, log: Logger): Promise<number[]> {
  const own = (await readStat(process.pid))?.pgid
  const names = (await readdir(runDir).catch(() => [] as string[])).filter((n) => n.endsWith('.json'))
  const killed: number[] = []
  await Promise.all(names.map(async (name) => {
    const path = join(runDir, name)
    const pf = await readPidFile(path)
    if (pf != null) {
      for (const pgid of await orphanGroups(pf)) {
        // Never signal our own group: a token match on ourselves would be a bug, not an orphan.
        if (pgid === own || pgid <= 1) continue
        log.warn('killing orphaned function left by a previous cell', { function: pf.function, pgid })
        const how = await terminateGroup(pgid, graceMs)
        if (how === 'stuck') { signalGroup(pgid, 'SIGKILL'); await waitGroupGone(pgid, 1_000) }
        killed.push(pgid)
      }
    }
    await rm(path, { force: true })
  }))
  return killed
}
