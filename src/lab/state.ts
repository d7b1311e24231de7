// Lab records on disk: one JSON file per lab, claimed atomically, naming its owner so stale labs can be found.
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LabPlan } from './plan.ts'
import { labError } from './errors.ts'
import { liveStartTime } from '../core/proc-stat.ts'

export interface HostRecord {
  readonly hostKey: string // known_hosts line
  readonly fingerprint: string
  readonly sshdPid: number
}

export interface LabRecord {
  readonly version: 1
  readonly plan: LabPlan
  /** The process that made the lab; when it is gone and the lab is not persistent, the lab is stale. */
  readonly owner: { readonly pid: number, readonly startTime: string }
  /** Made by `lab up`: outlives its maker and is removed by `lab down`. */
  readonly persistent: boolean
  readonly createdAt: string
  readonly hosts: Record<string, HostRecord>
}

/** Where lab records live: /run/organism-lab for root, a per-user temp dir otherwise; $ORGANISM_LAB_STATE overrides. */
export function stateRoot (): string {
  const env = process.env.ORGANISM_LAB_STATE
  if (env != null && env !== '') return env
  const uid = process.getuid?.() ?? 0
  return uid === 0 ? '/run/organism-lab' : join(process.env.XDG_RUNTIME_DIR ?? tmpdir(), `organism-lab-${uid}`)
}

export function recordPath (root: string, id: number): string { return join(root, `lab-${id}.json`) }

export function ownerAlive (record: LabRecord): boolean {
  return liveStartTime(record.owner.pid) === record.owner.startTime
}

export function isStale (record: LabRecord): boolean { return !record.persistent && !ownerAlive(record) }

/**
 * Claims a free lab number by creating its record file exclusively, so two labs made at once never share one.
 * `taken` says whether something of that number already exists on the machine (a leftover without a record).
 */
export function claimId (root: string, taken: (id: number) => boolean): number {
  mkdirSync(root, { recursive: true, mode: 0o755 })
  const start = 1 + Math.floor(Math.random() * 254)
  for (let k = 0; k < 254; k++) {
    const id = 1 + ((start - 1 + k) % 254)
    if (taken(id)) continue
    try {
      closeSync(openSync(recordPath(root, id), 'wx', 0o644))
      return id
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
  throw labError('LAB_NO_FREE_SLOT', `no free lab number in ${root}`)
}

export function writeRecord (root: string, record: LabRecord): void {
  const path = recordPath(root, record.plan.id)
  // Write then rename, so a reader (lab status, a GC in another process) never sees half a file.
  writeFileSync(`${path}.tmp`, JSON.stringify(record, null, 2) + '\n', { mode: 0o644 })
  renameSync(`${path}.tmp`, path)
}

export function removeRecord (root: string, id: number): void {
  rmSync(recordPath(root, id), { force: true })
  rmSync(`${recordPath(root, id)}.tmp`, { force: true })
}

/** Every lab record under root; an empty or unreadable file is a claim in progress and is skipped. */
export function listRecords (root: string): LabRecord[] {
  let names: string[]
  try { names = readdirSync(root) } catch { return [] }
  const out: LabRecord[] = []
  for (const name of names) {
    if (!/^lab-\d+\.json$/.test(name)) continue
    try { out.push(JSON.parse(readFileSync(join(root, name), 'utf8')) as LabRecord) } catch { /* claim in progress */ }
  }
  return out.sort((a, b) => a.plan.id - b.plan.id)
}

/** Removes claims that never got a record (their maker died between claim and first write, a few ms). */
export function removeAbandonedClaims (root: string, olderThanMs = 60_000): void {
  let names: string[]
  try { names = readdirSync(root) } catch { return }
  for (const name of names) {
    if (!/^lab-\d+\.json$/.test(name)) continue
    try {
      const st = statSync(join(root, name))
      if (st.size === 0 && Date.now() - st.mtimeMs > olderThanMs) rmSync(join(root, name), { force: true })
    } catch { /* gone */ }
  }
}
