// Shared by the migrate tests: a directory as {relative path: sha256 | 'dir' | 'other'}, to compare copies exactly.
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'

export async function tree (dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const p = join(e.parentPath, e.name)
    out[relative(dir, p)] = e.isFile() ? createHash('sha256').update(await readFile(p)).digest('hex') : e.isDirectory() ? 'dir' : 'other'
  }
  return out
}
