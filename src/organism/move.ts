// The cold move of a function with its data: the owner stops it and streams its data dir; the new owner checks,
// starts it, and takes the placement with epoch + 1. Requests meanwhile get 503 (placement state 'moving').
import { rm, rename, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Duplex } from 'node:stream'
import { logger } from '../core/log.ts'
import { isOrganismError } from '../core/errors.ts'
import type { Supervisor } from '../supervisor/index.ts'
import { sendDir, receiveDir, readFrames, jsonFrame, writeJson, FRAME, migrateError, sendOffered, receiveOffered } from '../migrate/index.ts'
import type { BulkHost, DataPath } from '../migrate/index.ts'
import type { Organism } from './organism.ts'
import { nameOf } from './organism.ts'
import { protocols } from './protocols.ts'

const log = logger('move')

export interface MoveResult { fn: string, from: string, to: string, epoch: number, bytes: number, sha256: string, ms: number, via?: DataPath }

export interface MoverOptions {
  /** Where this cell offers one-shot bulk ports to senders; null offers none (moves here go in-stream). */
  bulk?: BulkHost | null
}
interface Header { fn: string, epoch: number, from: string }
type Result = { ok: true, epoch: number } | { ok: false, code: string, message: string, hint: string }

export interface Mover {
  /**
   * Moves fn to the cell named `to` (name or peer id prefix); asks the owner if this cell is not it.
   * With force, and only when the owner is dead, `to` takes the function over at epoch + 1 without its data.
   */
  move: (fn: string, to: string, opts?: { force?: boolean }) => Promise<MoveResult>
  /** Functions arriving here: the reconcile loop must not stop them before their placement is ours. */
  readonly arriving: ReadonlySet<string>
}

async function readResult (frames: AsyncIterator<{ type: number, payload: Buffer }>): Promise<Result> {
  const next = await frames.next()
  if (next.done === true || next.value.type !== FRAME.result) throw migrateError('MIGRATE_TRUNCATED', 'the receiving cell closed the stream without a result')
  return JSON.parse(next.value.payload.toString()) as Result
}

export async function createMover (org: Organism, supervisor: Supervisor, organismName: string, functions: readonly string[], mopts: MoverOptions = {}): Promise<Mover> {
  const names = protocols(organismName)
  const arriving = new Set<string>()
  const warnedFallback = new Set<string>()

  // move/2.0.0 first; a cell without it (PEERS_PROTOCOL_UNSUPPORTED) gets the 1.0.0 stream it knows.
  const openMove = async (toId: string): Promise<{ stream: Duplex, v2: boolean }> => {
    try {
      return { stream: await org.node.openStream(toId, names.moveV2), v2: true }
    } catch (err) {
      if (!isOrganismError(err, 'PEERS_PROTOCOL_UNSUPPORTED')) throw err
      return { stream: await org.node.openStream(toId, names.move), v2: false }
    }
  }
  // Once per target cell at warn level: a firewalled peer would otherwise log on every move.
  const onFallback = (toId: string) => (err: Error): void => {
    const first = !warnedFallback.has(toId)
    warnedFallback.add(toId)
    log[first ? 'warn' : 'debug']('bulk path unreachable; moving the data over the peer stream', { to: toId, err })
  }

  const resolveCell = (to: string): string => {
    // Suspect is not dead: a busy cell is often suspected for a moment and refutes.
    const live = org.cells().filter((c) => c.liveness !== 'dead')
    const match = live.filter((c) => c.peer === to || c.record?.body.name === to || (to.length >= 6 && c.peer.endsWith(to)) || c.peer.startsWith(to))
    if (match.length !== 1) throw migrateError('MIGRATE_UNKNOWN_CELL', `${match.length === 0 ? 'no live cell' : 'more than one live cell'} matches "${to}"`)
    return match[0].peer
  }

  const moveHere = async (fn: string, toId: string): Promise<MoveResult> => {
    const started = Date.now()
    const p = org.sync.placements().find((x) => x.fn === fn)
    if (p == null || p.owner !== org.self) throw migrateError('MIGRATE_NOT_OWNER', `this cell does not own ${fn}`)
    if (toId === org.self) throw migrateError('MIGRATE_UNKNOWN_CELL', `${fn} is already here`)
    org.sync.claimPlacement(fn, { state: 'moving', to: toId })
    await supervisor.stopFunction(fn)
    const restore = (): void => { org.sync.claimPlacement(fn, { state: 'serving' }); void supervisor.startFunction(fn) }
    let stream: Duplex | undefined
    try {
      const opened = await openMove(toId)
      stream = opened.stream
      const frames = readFrames(stream)[Symbol.asyncIterator]()
      await writeJson(stream, FRAME.header, { fn, epoch: p.epoch, from: org.self } satisfies Header)
      const dir = supervisor.dataDir(fn)
      const sent = opened.v2 ? await sendOffered(stream, frames, dir, { onFallback: onFallback(toId) }) : { ...await sendDir(dir, stream), via: 'stream' as const }
      const sentAt = Date.now()
      const result = await readResult(frames)
      stream.end()
      // The split tells a slow link (data) from a slow start at the new owner (verify, start, health).
      log.info('data sent', { fn, to: toId, via: sent.via, bytes: sent.bytes, dataMs: sentAt - started, startMs: Date.now() - sentAt })
      if (!result.ok) throw migrateError('MIGRATE_REFUSED', `${nameOf(org.sync, toId)} refused ${fn}: ${result.code}: ${result.message}`, { hint: result.hint })
      // Keep nothing of ours that could be served by mistake; the new owner holds the verified copy.
      const old = supervisor.dataDir(fn)
      const trash = join(dirname(old), `.moved-${fn}-${p.epoch}`)
      await rename(old, trash).then(() => rm(trash, { recursive: true, force: true })).catch(() => {})
      await mkdir(old, { recursive: true })
      org.events.note({ kind: 'move', text: `${fn} moved to ${nameOf(org.sync, toId)} (${sent.bytes} bytes)` })
      return { fn, from: org.self, to: toId, epoch: result.epoch, ...sent, ms: Date.now() - started }
    } catch (err) {
      stream?.destroy()
      log.warn('move failed; the function stays here', { fn, to: toId, err })
      restore()
      throw err
    }
  }

  // The receiving side: verify, start, then claim. Any failure answers an error and leaves the function stopped here.
  const receive = (v2: boolean) => (stream: Duplex, from: string): void => {
    void (async () => {
      const frames = readFrames(stream)[Symbol.asyncIterator]()
      let fn = ''
      try {
        const first = await frames.next()
        if (first.done === true || first.value.type !== FRAME.header) throw migrateError('MIGRATE_PROTOCOL', 'a move stream must start with its header')
        const h = JSON.parse(first.value.payload.toString()) as Header
        fn = h.fn
        if (!functions.includes(fn) || h.from !== from) throw migrateError('MIGRATE_PROTOCOL', `bad move header for "${fn}" from ${from}`)
        arriving.add(fn)
        await supervisor.stopFunction(fn)
        const dest = supervisor.dataDir(fn)
        const t0 = Date.now()
        const got = v2 ? await receiveOffered(stream, frames, dest, mopts.bulk) : { ...await receiveDir(frames, dest), via: 'stream' }
        const t1 = Date.now()
        await supervisor.startFunction(fn)
        log.info('data received', { fn, from, via: got.via, bytes: got.bytes, dataMs: t1 - t0, startMs: Date.now() - t1 })
        const st = supervisor.get(fn)
        if (st?.state !== 'running') {
          await supervisor.stopFunction(fn)
          throw migrateError('MIGRATE_REFUSED', `${fn} did not become healthy here (${st?.state ?? 'unknown'}${st?.error != null ? `: ${st.error.message}` : ''})`)
        }
        org.sync.claimPlacement(fn, { epoch: h.epoch + 1 })
        const epoch = org.sync.placements().find((x) => x.fn === fn)?.epoch ?? h.epoch + 1
        stream.end(jsonFrame(FRAME.result, { ok: true, epoch } satisfies Result))
      } catch (err) {
        const e = isOrganismError(err) ? err : migrateError('MIGRATE_REFUSED', (err as Error).message)
        log.warn('refused an incoming move', { fn, from, err: e })
        stream.end(jsonFrame(FRAME.result, { ok: false, code: e.code, message: e.message, hint: e.hint } satisfies Result))
      } finally {
        arriving.delete(fn)
      }
    })()
  }
  await org.node.handleStream(names.move, receive(false))
  await org.node.handleStream(names.moveV2, receive(true))

  // A takeover: the owner is dead here too, so its data is out of reach; the function restarts here with an empty data dir.
  const takeOver = (fn: string, from: string): MoveResult => {
    const p = org.sync.placements().find((x) => x.fn === fn)
    if (p == null || org.liveness(p.owner) !== 'dead') throw migrateError('MIGRATE_NOT_OWNER', `${fn}'s owner is not dead here; a takeover needs a dead owner (use a plain move)`)
    org.sync.claimPlacement(fn, { epoch: p.epoch + 1 })
    org.events.note({ kind: 'move', text: `${fn} taken over from dead ${nameOf(org.sync, p.owner)} (epoch ${p.epoch + 1}, without its data)` })
    return { fn, from, to: org.self, epoch: p.epoch + 1, bytes: 0, sha256: '', ms: 0 }
  }

  await org.node.handle(names.moveRequest, async (body, from) => {
    const { fn, to, force } = JSON.parse(new TextDecoder().decode(body)) as { fn: string, to: string, force?: boolean }
    return new TextEncoder().encode(JSON.stringify(force === true ? takeOver(fn, from) : await moveHere(fn, to)))
  })

  return {
    arriving,
    move: async (fn, to, mopts = {}) => {
      const toId = resolveCell(to)
      const p = org.sync.placements().find((x) => x.fn === fn)
      if (p == null) throw migrateError('MIGRATE_NOT_OWNER', `no cell owns ${fn} yet`)
      if (mopts.force === true) {
        if (toId === org.self) return takeOver(fn, org.self)
        const answer = await org.node.request(toId, names.moveRequest, new TextEncoder().encode(JSON.stringify({ fn, to: toId, force: true })))
        return JSON.parse(new TextDecoder().decode(answer)) as MoveResult
      }
      if (p.owner === org.self) return await moveHere(fn, toId)
      const answer = await org.node.request(p.owner, names.moveRequest, new TextEncoder().encode(JSON.stringify({ fn, to: toId })))
      return JSON.parse(new TextDecoder().decode(answer)) as MoveResult
    }
  }
}
