// The cell's own software on disk: a cell that runs from its bundle (cell.mjs, what imprint copies to each host)
// keeps the bytes it started from and the file's digest; a change on disk (which would run at the next start) is
// written back from those bytes. The running process is the reference: what it loaded is what was imprinted.
import { createHash } from 'node:crypto'
import { chmod, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'

export interface BundleCheck { readonly changed: boolean, readonly restored: boolean }

export class BundleWatch {
  readonly path: string
  readonly sha256: string
  private readonly bytes: Buffer
  private readonly mode: number
  private key: string

  private constructor (path: string, bytes: Buffer, mode: number, key: string) {
    this.path = path; this.bytes = bytes; this.mode = mode; this.key = key
    this.sha256 = createHash('sha256').update(bytes).digest('hex')
  }

  /** The bundle this process runs, if it runs from one (a single cell.mjs); null when it runs from a checkout. */
  static async open (entry: string | undefined): Promise<BundleWatch | null> {
    if (entry == null || !entry.endsWith('cell.mjs')) return null
    const st = await stat(entry, { bigint: true }).catch(() => null)
    if (st == null || !st.isFile()) return null
    return new BundleWatch(entry, await readFile(entry), Number(st.mode & 0o7777n), keyOf(st))
  }

  /** Looks again (a hash only when inode, size or change time moved) and writes the bytes back if they changed. */
  async check (): Promise<BundleCheck> {
    const st = await stat(this.path, { bigint: true }).catch(() => null)
    if (st != null && keyOf(st) === this.key) return { changed: false, restored: false }
    const now = st == null ? null : await readFile(this.path).catch(() => null)
    if (now != null && createHash('sha256').update(now).digest('hex') === this.sha256) { this.key = keyOf(st as NonNullable<typeof st>); return { changed: false, restored: false } }
    // Written beside it and renamed over it: a reader never sees half a bundle, and a symlink put there is replaced.
    const tmp = join(dirname(this.path), `.cell.mjs.restore-${process.pid}`)
    await writeFile(tmp, this.bytes, { mode: this.mode })
    await chmod(tmp, this.mode)
    await rename(tmp, this.path)
    const after = await stat(this.path, { bigint: true })
    this.key = keyOf(after)
    return { changed: true, restored: true }
  }
}

const keyOf = (st: { ino: bigint, size: bigint, ctimeNs: bigint }): string => `${st.ino}:${st.size}:${st.ctimeNs}`
