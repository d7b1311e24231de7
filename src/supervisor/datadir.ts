// A function's data directory: make sure it exists and is writable; measure its size without blocking.
import { lstat, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** Creates the directory if needed and proves it writable by writing a probe file; returns why not, or null. */
export async function ensureWritableDir (dir: string): Promise<string | null> {
  try {
    await mkdir(dir, { recursive: true })
  } catch (err) {
    return `cannot create ${dir}: ${(err as Error).message}`
  }
  const st = await lstat(dir).catch(() => null)
  if (st == null || !st.isDirectory()) return `${dir} is not a directory`
  // access(W_OK) is not enough: root passes it on a read-only mount, so try a real write.
  const probe = join(dir, `.organism-write-probe-${process.pid}`)
  try {
    await writeFile(probe, '')
    await rm(probe, { force: true })
    return null
  } catch (err) {
    return `cannot write in ${dir}: ${(err as Error).message}`
  }
}

