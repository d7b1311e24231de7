// Reading a data directory for replication: the regular files under it with their stats, and a file's block hashes.
import { createHash } from 'node:crypto'
import { lstat, open, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { BLOCK_BYTES, blockCount } from './manifest.ts'
import type { FileState, Manifest } from './manifest.ts'

export interface FileStat { readonly size: number, readonly mtimeMs: number, readonly ino: number, readonly mode: number }

/** Every regular file under dir by relative path (symlinks, sockets and empty directories are not replicated). */
export async function statTree (dir: string): Promise<Map<string, FileStat>> {
  const out = new Map<string, FileStat>()
  const stack: string[] = ['']
  while (stack.length > 0) {
    const rel = stack.pop() as string
    const entries = await readdir(join(dir, rel), { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' && rel === '') return []
      throw err
    })
    for (const e of entries) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`
      if (e.isDirectory()) stack.push(p)
      else if (e.isFile()) {
        const st = await lstat(join(dir, p)).catch(() => null)
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
  const fh = await open(file, 'r').catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return null; throw err })
  if (fh == null) return null
  try {
    const s = await fh.stat()
    const stat: FileStat = { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, mode: s.mode & 0o777 }
    const hashes: string[] = []
    let size = 0
    for (let i = 0; i < blockCount(stat.size); i++) {
      const buf = Buffer.allocUnsafe(BLOCK_BYTES)
      const { bytesRead } = await fh.read(buf, 0, Math.min(BLOCK_BYTES, stat.size - i * BLOCK_BYTES), i * BLOCK_BYTES)
      if (bytesRead === 0) break
      const data = buf.subarray(0, bytesRead)
      const h = blockHash(data)
      hashes.push(h)
      size += bytesRead
      if (onBlock != null) await onBlock(i, data, h, stat)
      if (bytesRead < BLOCK_BYTES) break
    }
    return { size, hashes, stat }
  } finally {
    await fh.close()
  }
}

/** What a replica directory holds now (read in full: done once per connection from an owner). */
export async function manifestOf (dir: string): Promise<Manifest> {
  const out: Manifest = new Map()
  for (const p of (await statTree(dir)).keys()) {
    const st = await readBlocks(join(dir, p)).catch(() => null)
    if (st != null) out.set(p, { size: st.size, hashes: st.hashes })
  }
  return out
}
