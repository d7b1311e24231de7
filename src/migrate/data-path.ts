// The real data path of a move: tar in-stream (move/1.0.0) or over the receiver's TLS bulk offer (2.0.0), and the
// old owner's copy dropped by a rename first, so that nothing half-deleted is ever served.
import { rm, rename, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { sendDir, receiveDir } from './transfer.ts'
import { sendOffered, receiveOffered } from './negotiate.ts'
import type { BulkHost } from './negotiate.ts'
import type { DataMover } from './ports.ts'

/** bulk: where this cell offers one-shot bulk ports to senders; null offers none (moves here go in-stream). */
export function tarDataMover (bulk: BulkHost | null): DataMover {
  return {
    send: async (stream, frames, dir, v2, onFallback, files) => v2 ? await sendOffered(stream, frames, dir, { onFallback, files }) : { ...await sendDir(dir, stream, undefined, files), via: 'stream' },
    receive: async (stream, frames, dest, v2, limits) => v2 ? await receiveOffered(stream, frames, dest, bulk, limits) : { ...await receiveDir(frames, dest, limits), via: 'stream' },
    discard: async (dir, tag) => {
      const trash = join(dirname(dir), `.moved-${tag}`)
      await rename(dir, trash).then(() => rm(trash, { recursive: true, force: true })).catch(() => {})
      await mkdir(dir, { recursive: true })
    }
  }
}
