// How many bytes of regular files a directory holds: a function's data size, and what a move announces it sends.
import { lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'

/** Total bytes of regular files under dir (symlinks are not followed); 0 if missing. */
export async function dirBytes (dir: string, signal?: AbortSignal): Promise<number> {
  let total = 0
  const stack = [dir]
  while (stack.length > 0 && signal?.aborted !== true) {
    const d = stack.pop() as string
    const entries = await readdir(d, { withFileTypes: true }).catch(() => [])
    for (const e of entries) {
      const p = join(d, e.name)
      if (e.isDirectory()) stack.push(p)
      else if (e.isFile()) total += (await lstat(p).catch(() => null))?.size ?? 0
    }
  }
  return total
}
