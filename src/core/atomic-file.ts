// Whole-file writes that a crash or a concurrent writer never leave half done.
import { rename, rm, writeFile } from 'node:fs/promises'

let seq = 0

/**
 * Writes to a temp file beside `file`, then renames it into place. The temp name is unique per call:
 * two writers sharing one name raced (one renamed the other's file away, and the second rename failed).
 */
export async function writeFileAtomic (file: string, data: string | Uint8Array, mode?: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${++seq}.tmp`
  try {
    await writeFile(tmp, data, mode != null ? { mode } : undefined)
    await rename(tmp, file)
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {})
    throw err
  }
}
