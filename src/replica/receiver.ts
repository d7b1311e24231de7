// The replica's side: a stream from the cell the ownership store names as a function's owner fills that function's
// data dir here (unused while another cell runs it), one journaled batch at a time. Anyone else, a function running
// here, or a path leaving the directory, is refused before a byte is written.
import type { Duplex } from 'node:stream'
import { logger } from '../core/log.ts'
import { jsonFrame, readFrames, openBulkServer } from '../migrate/index.ts'
import type { Frames } from '../migrate/index.ts'
import { replicaError } from './errors.ts'
import { manifestOf } from './files.ts'
import { openJournal, replayJournal, RFRAME } from './journal.ts'
import type { Journal } from './journal.ts'
import type { ReplicaPorts } from './ports.ts'
import type { FnLocks } from './locks.ts'

const log = logger('replica')
/** Files per manifest frame: a frame stays far below the 4 MiB frame limit. */
const FILES_PER_FRAME = 2000


export interface Receiver {
  handle: (stream: Duplex, from: string) => void
  /** Ends every stream writing fn's copy here: before its journal is replayed for another stream or a takeover. */
  halt: (fn: string) => void
}

export function receiveReplicas (ports: ReplicaPorts, functions: ReadonlySet<string>, locks: FnLocks): Receiver {
  // The one stream writing each function's journal here: how to stop it.
  const sessions = new Map<string, () => void>()
  const halt = (fn: string): void => {
    sessions.get(fn)?.()
    sessions.delete(fn)
  }
  // Why `from` may not send fn's data at `epoch` now, or null: the check of every batch, on the cached record.
  const refusal = (fn: string, epoch: number, from: string, record = ports.placement(fn)): string | null => {
    if (!functions.has(fn)) return `${fn} is not a function of this genome`
    if (record == null || record.owner !== from) return `the store does not name ${from} as ${fn}'s owner`
    if (record.epoch !== epoch) return `${fn} is at epoch ${record.epoch}, not ${epoch}`
    if (ports.busy(fn)) return `${fn} runs on this cell`
    return null
  }
  const handle = (stream: Duplex, from: string): void => {
    const frames = readFrames(stream)
    // Answers go where batches come from: the side path once the owner moved there.
    let out: Duplex = stream
    const refuse = (message: string): void => {
      if (out.writable) out.end(jsonFrame(RFRAME.refuse, ({ message })))
      if (out !== stream && stream.writable) stream.end()
    }
    void (async () => {
      let journal: Journal | null = null
      let fn = ''
      let halted = false
      const stop = (): void => { halted = true; journal?.close(); stream.destroy() }
      try {
        const hello = await frames.next()
        if (hello.done === true || hello.value.type !== RFRAME.hello) throw replicaError('REPLICA_PROTOCOL', 'the stream did not start with a hello')
        const h = JSON.parse(hello.value.payload.toString()) as { fn?: unknown, epoch?: unknown }
        if (typeof h.fn !== 'string' || typeof h.epoch !== 'number') throw replicaError('REPLICA_PROTOCOL', 'a hello without function and epoch')
        fn = h.fn
        const epoch = h.epoch
        // The first check reads the store itself: the cache of a cell that just started may not know the owner yet.
        const why = refusal(fn, epoch, from, await ports.read(fn))
        if (why != null) throw replicaError('REPLICA_REFUSED', why)
        const dir = ports.dataDir(fn)
        // One writer of fn's journal at a time: an older stream from the owner (cut on its side) ends here.
        halt(fn)
        sessions.set(fn, stop)
        const manifest = await locks.with(fn, async () => { await replayJournal(dir); return await manifestOf(dir) })
        const entries = [...manifest.entries()]
        for (let i = 0; i < entries.length; i += FILES_PER_FRAME) stream.write(jsonFrame(RFRAME.manifest, (Object.fromEntries(entries.slice(i, i + FILES_PER_FRAME)))))
        // The side path: a one-shot TLS server whose key goes over this (member, authenticated) stream only.
        const server = ports.bulk == null ? null : await openBulkServer(ports.bulk).catch((err: unknown) => { log.info('no side path for a replica stream', { fn, err }); return null })
        stream.write(jsonFrame(RFRAME.end, (server != null ? { offer: server.offer } : {})))
        let input: Frames = frames
        if (server != null) {
          const chosen = await frames.next()
          if (chosen.done === true || chosen.value.type !== RFRAME.path) { server.close(); throw replicaError('REPLICA_PROTOCOL', 'no path chosen after the offer') }
          if ((JSON.parse(chosen.value.payload.toString()) as { bulk?: unknown }).bulk === true) {
            const side = await server.accepted(5000)
            side.setNoDelay(true)
            // Either closing ends both: the member stream is what the owner holds the connection by.
            side.once('close', () => { stream.destroy() })
            stream.once('close', () => { side.destroy() })
            input = readFrames(side)
            out = side
          } else {
            server.close()
          }
        }
        for (let f = await input.next(); f.done !== true; f = await input.next()) {
          // Frames still buffered when another stream took over must not open a second writer of the journal.
          if (halted) throw replicaError('REPLICA_UNAVAILABLE', `another stream (or a takeover) took over ${fn}'s copy`)
          const { type, payload } = f.value
          if (type === RFRAME.end) {
            const end = JSON.parse(payload.toString()) as { seq?: number, epoch?: number }
            const again = refusal(fn, end.epoch ?? -1, from)
            if (again != null) throw replicaError('REPLICA_REFUSED', again)
            // Durable is acknowledged; the files are written right after, in order, before anything reads them.
            const j = journal as Journal | null
            j?.commit()
            out.write(jsonFrame(RFRAME.ack, ({ seq: end.seq })))
            if (j != null) void locks.with(fn, async () => { j.apply() }).catch((err: unknown) => { log.warn('a durable batch could not be applied yet (the next replay will)', { fn, err }) })
          } else if (type === RFRAME.file || type === RFRAME.block || type === RFRAME.delete) {
            journal ??= openJournal(dir)
            journal.add(type, payload)
          } else {
            throw replicaError('REPLICA_PROTOCOL', `frame type ${type} on a replication stream`)
          }
        }
        out.end()
        stream.end()
      } catch (err) {
        const e = err as { code?: string, message?: string }
        if (e.code !== 'MIGRATE_TRUNCATED') log.info('a replication stream was refused or failed', { fn, from, err })
        if (!out.destroyed) refuse(`${e.code ?? 'error'}: ${e.message ?? String(err)}`)
      } finally {
        // What was committed and not yet applied is applied now, or by the next replay if another stream halted this one.
        const j = journal as Journal | null
        if (j != null) await locks.with(fn, async () => { j.apply() }).catch(() => {}).finally(() => { j.close() })
        if (sessions.get(fn) === stop) sessions.delete(fn)
      }
    })()
  }
  return { handle, halt }
}
