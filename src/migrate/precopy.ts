// A live move's two data phases on one move/2.0.0 stream. While the function still serves at its owner, the whole data
// dir goes to a staging copy at the receiver (the pre-copy); once the owner holds new requests and has stopped the
// function, only what changed since goes (the delta), with the list of deleted files and of what the copy must hold
// in the end, which the receiver checks before the copy becomes the function's data dir.
import type { Duplex } from 'node:stream'
import { rename, rm } from 'node:fs/promises'
import { migrateError } from './errors.ts'
import { FRAME, jsonFrame, nextJson, readFrames, writeJson } from './frames.ts'
import type { Frames } from './frames.ts'
import { applyDeletions, deltaOf, expectedOf, manifestMismatch, manifestOf } from './manifest.ts'
import type { Manifest } from './manifest.ts'
import { capFor } from './transfer.ts'
import type { DataMover, Sent } from './ports.ts'

/** bytes: the files the sender is about to send, announced so that the receiver can cap what it accepts. */
export interface MoveHeader { fn: string, epoch: number, from: string, bytes?: number, precopy?: boolean }
/** more: a further pass while the function still serves (no store check, no final list check; another follows). */
interface Delta { deleted: string[], expected: ReturnType<typeof expectedOf>, bytes: number, more?: boolean }

/** A pass that would send more than this while serving is followed by another before the hold. */
export const MORE_PASS_BYTES = 4 * 1024 * 1024
const MAX_PASSES = 3

export interface Precopied { readonly stream: Duplex, readonly frames: Frames, readonly before: Manifest, readonly sent: Sent }

/** How long a receiver waits, after its pre-copy, for the delta (the owner stops the function in between). */
export const DELTA_WAIT_MS = 120_000

/**
 * Sender, while the function serves: the whole dir to the receiver's staging copy. Null when the receiver cannot take
 * one (an older cell: it refuses a header the store does not hand it yet) or the dir is too large to list: then the
 * move goes cold, as before.
 */
export async function sendPrecopy (open: () => Promise<{ stream: Duplex, v2: boolean }>, data: DataMover, dir: string, header: MoveHeader, now: () => number, bytes: number, onFallback: (err: Error) => void): Promise<Precopied | null> {
  const before = await manifestOf(dir, now())
  if (before == null) return null
  const opened = await open()
  if (!opened.v2) { opened.stream.destroy(); return null }
  const stream = opened.stream
  try {
    const frames = readFrames(stream)[Symbol.asyncIterator]()
    await writeJson(stream, FRAME.header, { ...header, bytes, precopy: true } satisfies MoveHeader)
    let sent = await data.send(stream, frames, dir, true, onFallback, null)
    await acked(frames)
    // Files written just before the first look (or while it was copied) would all wait for the hold: while they are
    // many, copy them again while the function still serves, each pass against a newer look.
    let last = before
    for (let pass = 1; pass < MAX_PASSES; pass++) {
      const next = await manifestOf(dir, now())
      if (next == null) break
      const { send, deleted } = deltaOf(last, next)
      const bytes = send.reduce((sum, path) => sum + (next.entries.get(path)?.size ?? 0), 0)
      if (bytes <= MORE_PASS_BYTES) break
      await writeJson(stream, FRAME.delta, { deleted, expected: expectedOf(next), bytes, more: true } satisfies Delta)
      const again = await data.send(stream, frames, dir, true, onFallback, { live: send })
      sent = { ...again, bytes: sent.bytes + again.bytes }
      await acked(frames)
      last = next
    }
    return { stream, frames, before: last, sent }
  } catch (err) {
    stream.destroy()
    throw err
  }
}

async function acked (frames: Frames): Promise<void> {
  const ack = await nextJson(frames, FRAME.result, 'pre-copy result') as { ok?: boolean, precopied?: boolean, message?: string }
  if (ack.ok !== true || ack.precopied !== true) throw migrateError('MIGRATE_REFUSED', `the receiver took no pre-copy: ${ack.message ?? 'no reason given'}`)
}

/** Sender, the function stopped: what changed since the pre-copy, then the receiver's copy is complete. */
export async function sendDelta (p: Precopied, data: DataMover, dir: string, now: number, onFallback: (err: Error) => void): Promise<Sent & { files: number }> {
  const after = await manifestOf(dir, now)
  if (after == null) throw migrateError('MIGRATE_REFUSED', `${dir} grew past the entries a live move lists while it was copied`)
  const { send, deleted } = deltaOf(p.before, after)
  const bytes = send.reduce((sum, path) => sum + (after.entries.get(path)?.size ?? 0), 0)
  await writeJson(p.stream, FRAME.delta, { deleted, expected: expectedOf(after), bytes } satisfies Delta)
  const sent = await data.send(p.stream, p.frames, dir, true, onFallback, send)
  return { ...sent, files: send.length }
}

/** Receiver: the pre-copy into staging (replacing any earlier one), acknowledged; nothing of the live data is touched. */
export async function receivePrecopy (stream: Duplex, frames: Frames, staging: string, data: DataMover, header: MoveHeader, genomeMax: number | null): Promise<Sent> {
  const got = await data.receive(stream, frames, staging, true, { maxFileBytes: capFor(header.bytes, genomeMax) })
  stream.write(jsonFrame(FRAME.result, { ok: true, precopied: true }))
  return got
}

/**
 * Receiver: waits (bounded) for the final delta's list, taking the passes the sender makes while it still serves on
 * the way; the caller checks the store before the final delta's data is read.
 */
export async function awaitDelta (stream: Duplex, frames: Frames, staging: string, data: DataMover, genomeMax: number | null): Promise<Delta> {
  for (let pass = 0; ; pass++) {
    const delta = await nextDelta(stream, frames)
    if (delta.more !== true) return delta
    if (pass >= MAX_PASSES) throw migrateError('MIGRATE_PROTOCOL', 'the sender made more pre-copy passes than a move has')
    await data.receive(stream, frames, staging, true, { maxFileBytes: capFor(delta.bytes, genomeMax), overlay: true })
    await applyDeletions(staging, delta.deleted)
    stream.write(jsonFrame(FRAME.result, { ok: true, precopied: true }))
  }
}

async function nextDelta (stream: Duplex, frames: Frames): Promise<Delta> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { stream.destroy(); reject(migrateError('MIGRATE_TRUNCATED', `no delta within ${DELTA_WAIT_MS / 1000} s of the pre-copy`)) }, DELTA_WAIT_MS)
  })
  try {
    return await Promise.race([nextJson(frames, FRAME.delta, 'delta'), late]) as Delta
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Receiver, the store handing fn here: the delta over the staging copy, deletions, then the copy must hold exactly
 * what the sender listed (paths, types, sizes) and no more than the genome's max_data before it replaces `dest`.
 */
export async function receiveDelta (stream: Duplex, frames: Frames, delta: Delta, staging: string, dest: string, data: DataMover, genomeMax: number | null): Promise<Sent> {
  const got = await data.receive(stream, frames, staging, true, { maxFileBytes: capFor(delta.bytes, genomeMax), overlay: true })
  await applyDeletions(staging, delta.deleted)
  const wrong = await manifestMismatch(staging, delta.expected)
  if (wrong != null) throw migrateError('MIGRATE_CHECKSUM', `the copy here does not match the sender's data dir after the delta: ${wrong}`)
  const total = delta.expected.reduce((sum, e) => sum + (e[1] === 'file' ? Number(e[2]) : 0), 0)
  if (genomeMax != null && total > genomeMax) throw migrateError('MIGRATE_DATA_REFUSED', `the data dir would hold ${total} bytes, more than the function's max_data (${genomeMax})`)
  await rm(dest, { recursive: true, force: true })
  await rename(staging, dest)
  return got
}
