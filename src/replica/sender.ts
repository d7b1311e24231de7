// The owner's side of one function's replication: one stream to the replica, batches of the data dir's changed
// blocks sent one at a time, and the store told which cell holds the copy only once it holds all of it. A commit
// (a write's answer waiting) resolves once a batch begun after it was acknowledged by the named replica.
import type { Duplex } from 'node:stream'
import { join } from 'node:path'
import { logger } from '../core/log.ts'
import { isOrganismError } from '../core/errors.ts'
import { encodeFrame, jsonFrame, readFrames, writeQueued, parseOffer, connectBulk } from '../migrate/index.ts'
import type { Frames } from '../migrate/index.ts'
import { replicaError } from './errors.ts'
import { statTree, readBlocks } from './files.ts'
import { statUnchanged } from './manifest.ts'
import type { FileState, Manifest, StatSeen } from './manifest.ts'
import { RFRAME } from './journal.ts'
import type { ReplicaPorts } from './ports.ts'

const log = logger('replica')
/** A replica that does not answer a batch in this long is taken for gone. */
const ANSWER_MS = 5000

export interface Target {
  readonly peer: string
  /** Where batches go: the TLS side path when the replica offered one and it answered, else the member stream. */
  readonly stream: Duplex
  /** The member stream the connection began on (closed with the target). */
  readonly member: Duplex
  readonly frames: Frames
  readonly remote: Manifest
  readonly seen: Map<string, StatSeen>
  /** The store names this cell as fn's replica: its acknowledgement acknowledges a write. */
  named: boolean
  seq: number
}

const u32 = (n: number): Buffer => { const b = Buffer.allocUnsafe(4); b.writeUInt32BE(n); return b }

/** The next frame within ANSWER_MS; a refusal is the replica's (REPLICA_REFUSED). */
async function nextFrame (t: { frames: Frames, peer: string }): Promise<{ type: number, payload: Buffer }> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(replicaError('REPLICA_UNAVAILABLE', `${t.peer} did not answer within ${ANSWER_MS} ms`)) }, ANSWER_MS)
  })
  try {
    const next = await Promise.race([t.frames.next(), late])
    if (next.done === true) throw replicaError('REPLICA_UNAVAILABLE', `${t.peer} closed the replication stream`)
    if (next.value.type === RFRAME.refuse) {
      const r = JSON.parse(next.value.payload.toString()) as { message?: string }
      throw replicaError('REPLICA_REFUSED', `${t.peer} refused: ${r.message ?? '?'}`)
    }
    return next.value
  } catch (err) {
    // A cut stream reads as truncation in the move's words; here it is a replica gone.
    if (isOrganismError(err) && err.code.startsWith('MIGRATE_')) throw replicaError('REPLICA_UNAVAILABLE', `the stream to ${t.peer} failed: ${err.message}`, { cause: err })
    throw err
  } finally {
    clearTimeout(timer)
  }
}

async function answer (t: { frames: Frames, peer: string }, want: number): Promise<Buffer> {
  const f = await nextFrame(t)
  if (f.type !== want) throw replicaError('REPLICA_PROTOCOL', `expected frame ${want} from ${t.peer}, got ${f.type}`)
  return f.payload
}

/** Opens the stream, says which function at which epoch, and reads what the replica already holds. */
export async function connect (ports: ReplicaPorts, fn: string, epoch: number, peer: string): Promise<Target> {
  const stream = await ports.link.openStream(peer, ports.protocol)
  const frames = readFrames(stream)
  const t = { stream, frames, peer }
  try {
    stream.write(jsonFrame(RFRAME.hello, ({ fn, epoch })))
    const remote: Manifest = new Map()
    // The manifest comes in parts, closed by an end frame (with the replica's offer of a side path, if it has one).
    let f = await nextFrame(t)
    for (; f.type !== RFRAME.end; f = await nextFrame(t)) {
      if (f.type !== RFRAME.manifest) throw replicaError('REPLICA_PROTOCOL', `expected the manifest from ${peer}, got frame ${f.type}`)
      for (const [path, st] of Object.entries(JSON.parse(f.payload.toString()) as Record<string, FileState>)) remote.set(path, st)
    }
    const offer = parseOffer((JSON.parse(f.payload.toString()) as { offer?: unknown }).offer)
    const side = offer == null ? null : await connectBulk(offer).catch((err: unknown) => { log.info('the replica\'s side path is unreachable; batches go over the member stream', { peer, err }); return null })
    if (offer != null) stream.write(jsonFrame(RFRAME.path, ({ bulk: side != null })))
    if (side != null) {
      // Small frames answered one by one: Nagle's algorithm with delayed acks would hold each batch ~40 ms.
      side.setNoDelay(true)
      side.once('close', () => { stream.destroy() })
      return { peer, stream: side, member: stream, frames: readFrames(side), remote, seen: new Map(), named: false, seq: 0 }
    }
    return { peer, stream, member: stream, frames, remote, seen: new Map(), named: false, seq: 0 }
  } catch (err) {
    stream.destroy()
    throw err
  }
}

/**
 * Sends what changed since the last acknowledged batch (blocks whose hash differs, new sizes, deleted files) as one
 * batch and waits for the replica's acknowledgement; false if nothing changed (no round trip). On any failure the
 * target is spent: its stream is closed and the next attempt starts over from the replica's manifest.
 */
export async function sendChanges (t: Target, dir: string, epoch: number): Promise<boolean> {
  const scannedAt = Date.now()
  const stats = statTree(dir)
  const updates = new Map<string, FileState>()
  const seenNext = new Map<string, StatSeen>()
  const deletes: string[] = []
  let sent = false
  const out = t.stream
  for (const [path, st] of stats) {
    if (statUnchanged(t.seen.get(path), st)) continue
    const rem = t.remote.get(path)
    let headed = -1
    const head = async (size: number, mode: number): Promise<void> => {
      if (headed >= 0) return
      headed = size
      sent = true
      await writeQueued(out, jsonFrame(RFRAME.file, ({ path, size, mode })))
    }
    const got = await readBlocks(join(dir, path), async (i, data, h, stat) => {
      if (rem?.hashes[i] === h) return
      await head(stat.size, stat.mode)
      await writeQueued(out, encodeFrame(RFRAME.block, Buffer.concat([u32(i), data])))
    })
    if (got == null) { if (rem != null) deletes.push(path); continue }
    if (headed < 0 && (rem == null || rem.size !== got.size)) await head(got.size, got.stat.mode)
    updates.set(path, { size: headed >= 0 ? headed : got.size, hashes: got.hashes })
    seenNext.set(path, { ...got.stat, scannedAt })
  }
  for (const path of t.remote.keys()) if (!stats.has(path)) deletes.push(path)
  for (const path of deletes) { sent = true; await writeQueued(out, jsonFrame(RFRAME.delete, ({ path }))) }
  if (sent) {
    const seq = ++t.seq
    await writeQueued(out, jsonFrame(RFRAME.end, ({ seq, epoch })))
    const ack = JSON.parse((await answer(t, RFRAME.ack)).toString()) as { seq?: number }
    if (ack.seq !== seq) throw replicaError('REPLICA_PROTOCOL', `${t.peer} acknowledged batch ${String(ack.seq)}, not ${seq}`)
  }
  for (const [p, s] of updates) t.remote.set(p, s)
  for (const p of deletes) { t.remote.delete(p); t.seen.delete(p) }
  for (const [p, s] of seenNext) t.seen.set(p, s)
  return sent
}

export function closeTarget (t: Target | null, why: unknown): void {
  if (t == null) return
  if (!isOrganismError(why, 'REPLICA_UNAVAILABLE')) log.info('replication stream closed', { peer: t.peer, err: why })
  t.stream.destroy()
  t.member.destroy()
}
