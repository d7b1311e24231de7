// Which path a move's data takes (move/2.0.0): the receiver offers a bulk side path over the member stream, the
// sender uses it if it can reach it within 2 s and says so, else the data goes in-stream exactly as in move/1.0.0.
// On the bulk path the tar bytes go bare (no frames to copy and parse) and the size + sha256 trailer still comes over
// the member stream; either way the receiver checks it before anything replaces the data dir.
import type { Duplex, Writable } from 'node:stream'
import { once } from 'node:events'
import { isOrganismError } from '../core/errors.ts'
import { logger } from '../core/log.ts'
import { connectBulk, openBulkServer, parseOffer } from './bulk.ts'
import type { BulkOffer, BulkServer } from './bulk.ts'
import { migrateError } from './errors.ts'
import { FRAME, nextJson, writeJson } from './frames.ts'
import type { Frames } from './frames.ts'
import type { DataPath } from './ports.ts'
import { readTrailer, receiveDir, receiveRaw, sendDir, sendRaw } from './transfer.ts'
import type { ReceiveLimits, Selection, TransferSummary } from './transfer.ts'

const log = logger('migrate')


/** Where the receiver's bulk server listens (bindHost) and the address peers reach it at (advertise). */
export interface BulkHost { bindHost: string, advertise: string }

export interface SendOptions {
  /** Opens the side connection (tests wrap it); default connectBulk with a 2 s limit. */
  connect?: (offer: BulkOffer) => Promise<Duplex>
  /** Called when an offered side path could not be used; the data then goes in-stream. */
  onFallback?: (err: Error) => void
  /** What of dir to send (transfer.ts Selection; default all of it). */
  files?: Selection
}

/** Socket errors on the side path read as a cut transfer, like a closed member stream. */
async function * sideChunks (sock: Duplex): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of sock) yield chunk as Buffer
  } catch (err) {
    throw isOrganismError(err) ? err : migrateError('MIGRATE_TRUNCATED', `the bulk connection failed: ${(err as Error).message}`, { cause: err })
  }
}

/** A side socket that stalls for idleMs is cut, so neither side waits forever on a dead path. */
function idleLimit (sock: Duplex, idleMs: number): void {
  const s = sock as Duplex & { setTimeout?: (ms: number, cb: () => void) => void }
  s.setTimeout?.(idleMs, () => sock.destroy(migrateError('MIGRATE_TRUNCATED', `the bulk connection was idle for ${idleMs} ms`)))
}

/**
 * Sender, after the header: reads the offer, picks the path, sends the data and trailer there.
 * Returns once the receiver has closed the side connection (it does so right after verifying) or the member stream carried it all.
 */
export async function sendOffered (stream: Writable, frames: Frames, dir: string, opts: SendOptions = {}): Promise<TransferSummary & { via: DataPath }> {
  const offer = parseOffer(await nextJson(frames, FRAME.offer, 'bulk offer'))
  let side: Duplex | null = null
  if (offer != null) {
    try {
      side = await (opts.connect ?? connectBulk)(offer)
    } catch (err) {
      opts.onFallback?.(err as Error)
    }
  }
  await writeJson(stream, FRAME.path, { bulk: side != null })
  if (side == null) return { ...await sendDir(dir, stream, undefined, opts.files), via: 'stream' }
  const sock = side
  sock.on('error', () => { /* a write fails as MIGRATE_TRUNCATED through writeFrame */ })
  idleLimit(sock, 60_000)
  try {
    const closed = once(sock, 'close')
    const sent = await sendRaw(dir, sock, undefined, opts.files)
    sock.end()
    await writeJson(stream, FRAME.trailer, sent)
    // The receiver closes the side connection once it has read it to the end; the data is then all out of our hands.
    await closed
    return { ...sent, via: 'bulk' }
  } finally {
    sock.destroy()
  }
}

/**
 * Receiver, after the header: offers a bulk server (when bulk is given and it can listen), then receives where the
 * sender says. Only a complete, verified copy replaces dest, whichever path it came by.
 */
export async function receiveOffered (stream: Writable, frames: Frames, dest: string, bulk?: BulkHost | null, limits: ReceiveLimits = {}): Promise<TransferSummary & { via: DataPath }> {
  let server: BulkServer | null = null
  if (bulk != null) {
    try {
      server = await openBulkServer(bulk)
    } catch (err) {
      log.warn('cannot open a bulk port; this move goes in-stream', { bind: bulk.bindHost, err })
    }
  }
  try {
    await writeJson(stream, FRAME.offer, server?.offer ?? null)
    const choice = await nextJson(frames, FRAME.path, 'path choice') as { bulk?: unknown }
    if (choice?.bulk !== true) {
      server?.close()
      return { ...await receiveDir(frames, dest, limits), via: 'stream' }
    }
    if (server == null) throw migrateError('MIGRATE_PROTOCOL', 'the sender chose a bulk path that was not offered')
    const sock = await server.accepted(10_000)
    idleLimit(sock, 60_000)
    try {
      // The trailer comes over the member stream; a stream that dies instead is a cut transfer like any other.
      const trailer = async (): Promise<TransferSummary | null> => await readTrailer(frames).catch((err: unknown) => {
        throw isOrganismError(err) ? err : migrateError('MIGRATE_TRUNCATED', `the member stream failed before the checksum: ${(err as Error).message}`, { cause: err })
      })
      return { ...await receiveRaw(sideChunks(sock), trailer, dest, limits), via: 'bulk' }
    } finally {
      // Closing tells the sender that the data is checked (or refused); the result follows on the member stream.
      sock.destroy()
    }
  } finally {
    server?.close()
  }
}
