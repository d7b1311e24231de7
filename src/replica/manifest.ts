// What a replica holds, file by file, as block hashes; and the pure decisions made from it: which blocks of a file
// differ, whether a file's stat can be trusted to mean "unchanged", and which paths are safe to write.
import { isAbsolute, normalize } from 'node:path'

/** Blocks are compared, not files: an appended log or a page changed in place travels as its changed blocks. */
export const BLOCK_BYTES = 64 * 1024

export interface FileState {
  readonly size: number
  /** sha256 (hex, first 32 characters) of each BLOCK_BYTES block, in order. */
  readonly hashes: readonly string[]
}
/** Relative path (with /) → state. */
export type Manifest = Map<string, FileState>

export interface StatSeen {
  readonly size: number
  readonly mtimeMs: number
  readonly ino: number
  /** Local time of the scan that saw this stat and read the content behind it. */
  readonly scannedAt: number
}

/**
 * File timestamps are coarse (the kernel's tick: at most 10 ms, for HZ=100): a second write within the tick of the first leaves
 * size and mtime as they were. As git does with its index, a stat is trusted only if the file was last modified
 * well before the scan that recorded it (by more than a tick: a later write then gets a later mtime); otherwise its
 * content is read again.
 */
export const RACY_MARGIN_MS = 30

export function statUnchanged (seen: StatSeen | undefined, now: { size: number, mtimeMs: number, ino: number }): boolean {
  return seen != null && seen.size === now.size && seen.mtimeMs === now.mtimeMs && seen.ino === now.ino &&
    now.mtimeMs < seen.scannedAt - RACY_MARGIN_MS
}

/** The blocks a file of `size` bytes has. */
export const blockCount = (size: number): number => Math.ceil(size / BLOCK_BYTES)

/** A path a sender may name: relative, inside the directory, no empty or dot parts. */
export function safeRelative (p: string): boolean {
  if (p === '' || isAbsolute(p) || p.includes('\0') || p.includes('\\')) return false
  const n = normalize(p)
  return n === p && n.split('/').every((part) => part !== '' && part !== '.' && part !== '..')
}
