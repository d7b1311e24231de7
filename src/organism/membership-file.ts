// What a cell remembers about its organism between runs: the verified admissions and where members were last seen.
import { readFile } from 'node:fs/promises'
import { writeFileAtomic } from '../core/atomic-file.ts'
import type { Admission, Expulsion } from '../peers/index.ts'

export interface SavedOrganism {
  organism: string
  admissions: Admission[]
  /** Operators' expulsions: the tombstones that keep expelled cells out after a restart. */
  expulsions?: Expulsion[]
  /** Member multiaddrs (…/p2p/<id>) to dial after a restart. */
  bootstrap: string[]
}

export async function loadSaved (file: string): Promise<SavedOrganism | null> {
  try { return JSON.parse(await readFile(file, 'utf8')) as SavedOrganism } catch { return null }
}

/** Written to a temp file and renamed: a crash mid-write never leaves half a membership. */
export async function saveSaved (file: string, saved: SavedOrganism): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(saved, null, 1), 0o600)
}
