// Reading a data directory for replication: the regular files under it with their stats, and a file's block hashes.
import { createHash } from 'node:crypto'
import { closeSync, fstatSync, lstatSync, openSync, readSync, readdirSync } from 'node:fs'
import type { Dirent } from 'node:fs'
import { join } from 'node:path'
import { BLOCK_BYTES, blockCount } from './manifest.ts'
import type { FileState, Manifest } from './manifest.ts'

export interface FileStat { readonly size: number, readonly mtimeMs: number, readonly ino: number, readonly mode: number }

/**
 * Every regular file under dir by relative path (symlinks, sockets and empty directories are not replicated). Run
 * synchronously: a stat is a few microseconds, and a promise per file made a scan of 300 files cost 5 to 25 ms.
 */
export function statTree (dir: string): Map<string, FileStat> {
  const out = new Map<string, FileStat>()
  const stack: string[] = ['']
  while (stack.length > 0) {
    const rel = stack.pop() as string
    let entries: Dirent[]
    try {
      entries = readdirSync(join(dir, rel), { withFileTypes: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw err
    }
    for (const e of entries) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`
      if (e.isDirectory()) stack.push(p)
      else if (e.isFile()) {
        const st = lstatSync(join(dir, p), { throwIfNoEntry: false })
        if (st?.isFile() === true) out.set(p, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, mode: st.mode & 0o777 })
      }
    }
  }
  return out
}

export const blockHash = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex').slice(0, 32)

/**
 * Reads a file block by block up to the size it had when opened, hashing each block and handing it to `onBlock`
 * (which may send it on). The state returned is of the bytes read, whatever the file became meanwhile: its newer
 * stat makes a later scan read it again. Null if the file is gone.
 */
export async function readBlocks (file: string, onBlock?: (index: number, data: Buffer, hash: string, stat: FileStat) => Promise<void>): Promise<(FileState & { stat: FileStat }) | null> {
  // Block reads are synchronous (tens of microseconds from the page cache; the loop yields at each onBlock): four
  // promises per small file were most of a batch's time.
  let fd: number
  try { fd = openSync(file, 'r') } catch (err) { if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null; throw err }
  try {
    const s = fstatSync(fd)
    const stat: FileStat = { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, mode: s.mode & 0o777 }
    const hashes: string[] = []
    let size = 0
    for (let i = 0; i < blockCount(stat.size); i++) {
      const buf = Buffer.allocUnsafe(Math.min(BLOCK_BYTES, stat.size - i * BLOCK_BYTES))
      const bytesRead = readSync(fd, buf, 0, buf.length, i * BLOCK_BYTES)
      if (bytesRead === 0) break
      const data = buf.subarray(0, bytesRead)
      const h = blockHash(data)
      hashes.push(h)
      size += bytesRead
      if (onBlock != null) await onBlock(i, data, h, stat)
      if (bytesRead < buf.length) break
    }
    return { size, hashes, stat }
  } finally {
    closeSync(fd)
  }
}

/** What a replica directory holds now (read in full: done once per connection from an owner). */
export async function manifestOf (dir: string): Promise<Manifest> {
  const out: Manifest = new Map()
  for (const p of statTree(dir).keys()) {
    const st = await readBlocks(join(dir, p)).catch(() => null)
    if (st != null) out.set(p, { size: st.size, hashes: st.hashes })
  }
  return out
}
