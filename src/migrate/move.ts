// The move of a function with its data, decided by the ownership store. Live (precopy.ts): the data dir goes to the
// receiver while the function serves; then the owner marks the hand-off (requests wait), stops the function and sends
// what changed; cold: it marks, stops and streams the whole dir. The receiver checks the store says the function is
// coming to it, receives, starts the function and completes the hand-off there (epoch + 1). If anything fails, or a
// live hold outlasts its bound, the owner aborts in the store; the store accepts exactly one of complete and abort,
// so a lost answer cannot split ownership: the owner reads who won.
import { encodeJson as encode, decodeJson as decode } from '../core/json-bytes.ts'
import type { Duplex } from 'node:stream'
import { logger } from '../core/log.ts'
import { isOrganismError } from '../core/errors.ts'
import type { Startable } from '../core/lifecycle.ts'
import { resolveCell } from '../placement/index.ts'
import type { Refusal } from '../placement/index.ts'
import { transition } from '../ownership/index.ts'
import { readFrames, jsonFrame, writeJson, nextJson, FRAME } from './frames.ts'
import type { Frames } from './frames.ts'
import { migrateError } from './errors.ts'
import { capFor } from './transfer.ts'
import { dirBytes } from '../core/dir-bytes.ts'
import { rm } from 'node:fs/promises'
import type { MoverPorts, DataPath, Sent, Signed } from './ports.ts'
import { awaitDelta, receiveDelta, receivePrecopy, sendDelta, sendPrecopy } from './precopy.ts'
import type { MoveHeader, Precopied } from './precopy.ts'

const log = logger('move')

/** holdMs: from the hand-off in the store (requests wait) to the answer; precopied: the data went while it served. */
export interface MoveResult { fn: string, from: string, to: string, epoch: number, bytes: number, sha256: string, ms: number, via?: DataPath, holdMs?: number, precopied?: boolean }

/** A live move whose hold (requests waiting) would last longer than this is called off: fn serves here again. */
export const DEFAULT_HOLD_MAX_MS = 5000
type Result = { ok: true, epoch: number } | { ok: false, code: string, message: string, hint: string }

export interface Mover extends Startable {
  /**
   * Moves fn to the cell named `to` (name or peer id part); asks the owner if this cell is not it.
   * With force, and only when the owner is dead, `to` takes the function over at epoch + 1 without its data.
   */
  move: (fn: string, to: string, opts?: { force?: boolean, signed?: Signed }) => Promise<MoveResult>
  /** Functions arriving here: the reconcile loop must not stop them before their placement is ours. */
  readonly arriving: ReadonlySet<string>
  /** Functions being sent from here, until their data here is dropped: nothing else may write their data dir. */
  readonly leaving: ReadonlySet<string>
}

const refused = (r: Refusal): Error => migrateError('MIGRATE_UNKNOWN_CELL', r.message)
/** The store's refusal, in the move's words: not the owner, or (a lease still held) a takeover that must wait. */
const storeRefusal = (err: unknown): Error => {
  if (!isOrganismError(err, 'OWNERSHIP_REFUSED')) return err as Error
  const why = (err.details as { why?: string } | undefined)?.why
  return migrateError(why === 'not-owner' ? 'MIGRATE_NOT_OWNER' : 'MIGRATE_REFUSED', err.message, { hint: err.hint, cause: err })
}

export function createMover (ports: MoverPorts): Mover {
  const { placements: org, host, link, data, clock, protocols: names } = ports
  const arriving = new Set<string>()
  const leaving = new Set<string>()
  const open = new Set<Duplex>()
  const warnedFallback = new Set<string>()
  let stopped = false

  // move/2.0.0 first; a cell without it (PEERS_PROTOCOL_UNSUPPORTED) gets the 1.0.0 stream it knows.
  const openMove = async (toId: string): Promise<{ stream: Duplex, v2: boolean }> => {
    try {
      return { stream: await link.openStream(toId, names.moveV2), v2: true }
    } catch (err) {
      if (!isOrganismError(err, 'PEERS_PROTOCOL_UNSUPPORTED')) throw err
      return { stream: await link.openStream(toId, names.move), v2: false }
    }
  }
  // Once per target cell at warn level: a firewalled peer would otherwise log on every move.
  const onFallback = (toId: string) => (err: Error): void => {
    const first = !warnedFallback.has(toId)
    warnedFallback.add(toId)
    log[first ? 'warn' : 'debug']('bulk path unreachable; moving the data over the peer stream', { to: toId, err })
  }
  const track = (s: Duplex): Duplex => { open.add(s); s.once('close', () => open.delete(s)); return s }

  const resolve = (to: string): string => {
    const r = resolveCell(org.cellRefs(), to)
    if (!r.ok) throw refused(r)
    return r.peer
  }

  const moveHere = async (fn: string, toId: string): Promise<MoveResult> => {
    const started = clock.now()
    const p = org.placement(fn)
    if (p == null || p.owner !== org.self) throw migrateError('MIGRATE_NOT_OWNER', `this cell does not own ${fn}`)
    if (toId === org.self) throw migrateError('MIGRATE_UNKNOWN_CELL', `${fn} is already here`)
    const epoch = p.epoch
    leaving.add(fn)
    try {
      return await handOff(fn, toId, epoch, started)
    } finally {
      leaving.delete(fn)
    }
  }

  const handOff = async (fn: string, toId: string, epoch: number, started: number): Promise<MoveResult> => {
    const dir = host.dataDir(fn)
    // Live: the data goes while fn still serves here; only what changes meanwhile waits for the hold.
    const pre: Precopied | null = ports.precopy === false
      ? null
      : await sendPrecopy(async () => { const o = await openMove(toId); track(o.stream); return o }, data, dir, { fn, epoch, from: org.self }, () => clock.now(), await dirBytes(dir), onFallback(toId))
        .catch((err: unknown) => { log.info('no pre-copy; this move goes cold', { fn, to: toId, err }); return null })
    await org.change(fn, { kind: 'handoff', by: org.self, epoch, to: toId }).catch((err: unknown) => { pre?.stream.destroy(); throw storeRefusal(err) })
    const held = clock.now()
    await host.stopFunction(fn)
    let stream: Duplex | undefined = pre?.stream
    let sent: Sent
    let result: Result
    const holdMax = ports.holdMaxMs ?? DEFAULT_HOLD_MAX_MS
    let overHold: ReturnType<typeof setTimeout> | undefined
    let heldTooLong = false
    try {
      let frames: Frames
      if (pre != null) {
        // A live move's hold is bounded: past it the stream is cut, the hand-off aborted, and fn serves here again.
        overHold = setTimeout(() => { heldTooLong = true; pre.stream.destroy() }, Math.max(0, holdMax - (clock.now() - held)))
        frames = pre.frames
        const delta = await sendDelta(pre, data, dir, clock.now(), onFallback(toId))
        sent = { bytes: pre.sent.bytes + delta.bytes, sha256: delta.sha256, via: delta.via }
      } else {
        const opened = await openMove(toId)
        stream = track(opened.stream)
        frames = readFrames(stream)[Symbol.asyncIterator]()
        await writeJson(stream, FRAME.header, { fn, epoch, from: org.self, bytes: await dirBytes(dir) } satisfies MoveHeader)
        sent = await data.send(stream, frames, dir, opened.v2, onFallback(toId))
      }
      const sentAt = clock.now()
      result = await nextJson(frames, FRAME.result, 'result') as Result
      clearTimeout(overHold)
      stream?.end()
      // The split tells a slow link (data) from a slow start at the new owner (verify, start, health).
      log.info('data sent', { fn, to: toId, via: sent.via, bytes: sent.bytes, precopied: pre != null, holdMs: clock.now() - held, dataMs: sentAt - started, startMs: clock.now() - sentAt })
      if (!result.ok) throw migrateError('MIGRATE_REFUSED', `${org.nameOf(toId)} refused ${fn}: ${result.code}: ${result.message}`, { hint: result.hint })
    } catch (caught) {
      clearTimeout(overHold)
      const err = heldTooLong ? migrateError('MIGRATE_HOLD_EXCEEDED', `the hold of ${fn} would have lasted longer than ${holdMax} ms; the move was called off and ${fn} serves here again`, { cause: caught }) : caught
      stream?.destroy()
      // Abort in the store; if the store says the hand-off completed, the receiver serves fn with our data.
      const back = await org.change(fn, { kind: 'abort', by: org.self, epoch }).then(() => 'aborted' as const, async (abortErr: unknown) => {
        const now = await org.read(fn).catch(() => undefined)
        if (now?.owner === toId) return 'completed' as const
        log.warn('could not abort the hand-off in the store', { fn, err: abortErr })
        return 'unknown' as const
      })
      if (back !== 'completed') {
        log.warn('move failed; the function stays here', { fn, to: toId, err })
        if (back === 'aborted') void host.startFunction(fn)
        throw err
      }
      log.warn('the answer of a move was lost, but the store says it completed', { fn, to: toId, err })
      sent = { bytes: 0, sha256: '', via: 'stream' }
      result = { ok: true, epoch: epoch + 1 }
    }
    const holdMs = clock.now() - held
    // Keep nothing of ours that could be served by mistake; the new owner holds the verified copy.
    await data.discard(dir, `${fn}-${epoch}`).catch((err: unknown) => { log.warn('could not drop the moved data here', { fn, err }) })
    org.note({ kind: 'move', text: `${fn} moved to ${org.nameOf(toId)} (${sent.bytes} bytes${pre != null ? `, live: requests held ${holdMs} ms` : ''})` })
    return { fn, from: org.self, to: toId, epoch: result.ok ? result.epoch : epoch + 1, ...sent, ms: clock.now() - started, holdMs, precopied: pre != null }
  }

  // The receiving side: the store must say fn is coming here from the sender, else nothing is touched. Then receive,
  // start, and complete in the store. Any failure answers an error and leaves the function stopped here.
  const receive = (v2: boolean) => (raw: Duplex, from: string): void => {
    if (stopped) { raw.destroy(); return }
    const stream = track(raw)
    void (async () => {
      const frames = readFrames(stream)[Symbol.asyncIterator]()
      let fn = ''
      let claimed = false
      let staged: string | null = null
      try {
        const h = await nextJson(frames, FRAME.header, 'header') as MoveHeader
        fn = typeof h.fn === 'string' ? h.fn : ''
        if (!ports.functions.includes(fn) || h.from !== from) throw migrateError('MIGRATE_PROTOCOL', `bad move header for "${fn}" from ${from}`)
        const genomeMax = ports.maxDataBytes?.(fn) ?? null
        // A pre-copy comes only from the owner, while it still serves fn; it lands beside the data dir, not in it.
        const staging = `${host.dataDir(fn)}.precopy`
        let delta: Awaited<ReturnType<typeof awaitDelta>> | null = null
        if (h.precopy === true && v2) {
          staged = staging
          const now = await org.read(fn)
          if (now?.owner !== from || now.state !== 'serving' || now.epoch !== h.epoch) throw migrateError('MIGRATE_REFUSED', `a pre-copy of ${fn} comes only from its owner while it serves (the store says ${now?.owner === from ? now.state : 'another owner'})`)
          await receivePrecopy(stream, frames, staging, data, h, genomeMax)
          delta = await awaitDelta(stream, frames, staging, data, genomeMax)
        }
        const cur = await org.read(fn)
        const may = transition(fn, cur == null ? null : { fn, owner: cur.owner, epoch: cur.epoch, state: cur.state, ...cur.to != null ? { to: cur.to } : {} }, { kind: 'complete', by: org.self, from, epoch: h.epoch })
        if (!may.ok) throw migrateError('MIGRATE_REFUSED', `the store does not hand ${fn} from ${org.nameOf(from)} to this cell: ${may.message}`)
        arriving.add(fn)
        await host.stopFunction(fn)
        const t0 = clock.now()
        const got = delta != null
          ? await receiveDelta(stream, frames, delta, staging, host.dataDir(fn), data, genomeMax)
          : await data.receive(stream, frames, host.dataDir(fn), v2, { maxFileBytes: capFor(h.bytes, genomeMax) })
        const t1 = clock.now()
        await host.startFunction(fn)
        log.info('data received', { fn, from, via: got.via, bytes: got.bytes, dataMs: t1 - t0, startMs: clock.now() - t1 })
        const st = host.get(fn)
        if (st?.state !== 'running') {
          await host.stopFunction(fn)
          throw migrateError('MIGRATE_REFUSED', `${fn} did not become healthy here (${st?.state ?? 'unknown'}${st?.error != null ? `: ${st.error.message}` : ''})`)
        }
        const done = await org.change(fn, { kind: 'complete', by: org.self, from, epoch: h.epoch }).catch(async (err: unknown) => { await host.stopFunction(fn); throw storeRefusal(err) })
        claimed = true
        stream.end(jsonFrame(FRAME.result, { ok: true, epoch: done.epoch } satisfies Result))
      } catch (err) {
        const e = isOrganismError(err) ? err : migrateError('MIGRATE_REFUSED', (err as Error).message)
        log.warn('refused an incoming move', { fn, from, err: e })
        if (!claimed) stream.end(jsonFrame(FRAME.result, { ok: false, code: e.code, message: e.message, hint: e.hint } satisfies Result))
      } finally {
        if (fn !== '') arriving.delete(fn)
        // A pre-copy not made the data dir (the move failed, or the sender went away) is not kept.
        if (staged != null) await rm(staged, { recursive: true, force: true }).catch(() => {})
      }
    })()
  }

  // A takeover: the store allows it once the owner's lease is gone; the function restarts here with an empty data dir.
  // The operator's override goes into the record: every cell checks it before it believes the new owner.
  const takeOver = async (fn: string, from: string, signed: Signed): Promise<MoveResult> => {
    const p = org.placement(fn)
    if (p == null) throw migrateError('MIGRATE_NOT_OWNER', `no cell owns ${fn} yet`)
    const done = await org.change(fn, { kind: 'takeover', by: org.self, epoch: p.epoch, force: true, override: signed }).catch((err: unknown) => { throw storeRefusal(err) })
    org.note({ kind: 'move', text: `${fn} taken over from ${org.nameOf(p.owner)} (epoch ${done.epoch}, without its data)` })
    return { fn, from, to: org.self, epoch: done.epoch, bytes: 0, sha256: '', ms: 0 }
  }

  // A hand-off this cell began before it was killed (marked in the store, data never sent or never answered) would
  // leave the function moving forever: no move runs in a process that just started, so abort it; the store refuses
  // if the receiver completed it meanwhile.
  const abortInterrupted = async (): Promise<void> => {
    for (const fn of ports.functions) {
      if (stopped) return
      const p = await org.read(fn).catch(() => undefined)
      if (p?.owner !== org.self || p.state !== 'moving') continue
      await org.change(fn, { kind: 'abort', by: org.self, epoch: p.epoch }).then(() => {
        org.note({ kind: 'move', text: `${fn}: a hand-off to ${org.nameOf(p.to ?? '')} cut short by a restart was aborted; served here again` })
      }, (err: unknown) => { log.info('an interrupted hand-off was not aborted (the receiver may have completed it)', { fn, err }) })
    }
  }

  return {
    name: 'mover',
    arriving,
    leaving,
    start: async () => {
      // A pre-copy this cell was receiving when it was killed is of no use now (the move it was for has ended).
      if (ports.precopy !== false) for (const fn of ports.functions) await rm(`${host.dataDir(fn)}.precopy`, { recursive: true, force: true }).catch(() => {})
      await link.handleStream(names.move, receive(false))
      await link.handleStream(names.moveV2, receive(true))
      // Another member asks this cell to act: only on an operator's signature for exactly this request.
      await link.handle(names.moveRequest, async (body, from) => {
        if (stopped) throw migrateError('MIGRATE_REFUSED', 'this cell is stopping')
        const { fn, to, force, signed } = decode<{ fn: string, to: string, force?: boolean, signed?: Signed }>(body)
        const forced = force === true
        await ports.authorize({ fn, to: forced ? org.self : to, force: forced, signed }, from)
        return encode(forced && signed != null ? await takeOver(fn, from, signed) : await moveHere(fn, to))
      })
      void abortInterrupted()
    },
    stop: async () => {
      stopped = true
      for (const s of open) s.destroy()
    },
    move: async (fn, to, mopts = {}) => {
      if (stopped) throw migrateError('MIGRATE_REFUSED', 'this cell is stopping')
      const toId = resolve(to)
      const p = org.placement(fn)
      if (p == null) throw migrateError('MIGRATE_NOT_OWNER', `no cell owns ${fn} yet`)
      // What crosses to another cell carries the operator's signature; the other cell checks it.
      const unsigned = (): Error => migrateError('MIGRATE_UNSIGNED', mopts.force === true ? `a forced takeover of ${fn} (by ${org.nameOf(toId)}) must be signed by an operator key: every cell checks it` : `a move asked of another cell (${org.nameOf(p.owner)}) must be signed by an operator key`)
      if (mopts.force === true) {
        if (mopts.signed == null) throw unsigned()
        if (toId === org.self) return await takeOver(fn, org.self, mopts.signed)
        return decode<MoveResult>(await link.request(toId, names.moveRequest, encode({ fn, to: toId, force: true, signed: mopts.signed })))
      }
      if (p.owner === org.self) return await moveHere(fn, toId)
      if (mopts.signed == null) throw unsigned()
      return decode<MoveResult>(await link.request(p.owner, names.moveRequest, encode({ fn, to: toId, signed: mopts.signed })))
    }
  }
}
