// The cold move of a function with its data: the owner stops it and streams its data dir; the new owner checks,
// starts it, and takes the placement with epoch + 1. Requests meanwhile get 503 (placement state 'moving').
// The decisions (who may hand off, what an arrival claims, restore, takeover, names) are placement/'s pure rules.
import type { Duplex } from 'node:stream'
import { logger } from '../core/log.ts'
import { isOrganismError } from '../core/errors.ts'
import type { Startable } from '../core/lifecycle.ts'
import { handoff, arrival, takeover, restoreAfterFailedHandoff, resolveCell } from '../placement/index.ts'
import type { Refusal } from '../placement/index.ts'
import { readFrames, jsonFrame, writeJson, nextJson, FRAME } from './frames.ts'
import { migrateError } from './errors.ts'
import type { MoverPorts, DataPath, Sent } from './ports.ts'

const log = logger('move')

export interface MoveResult { fn: string, from: string, to: string, epoch: number, bytes: number, sha256: string, ms: number, via?: DataPath }

interface Header { fn: string, epoch: number, from: string }
type Result = { ok: true, epoch: number } | { ok: false, code: string, message: string, hint: string }

export interface Mover extends Startable {
  /**
   * Moves fn to the cell named `to` (name or peer id part); asks the owner if this cell is not it.
   * With force, and only when the owner is dead, `to` takes the function over at epoch + 1 without its data.
   */
  move: (fn: string, to: string, opts?: { force?: boolean }) => Promise<MoveResult>
  /** Functions arriving here: the reconcile loop must not stop them before their placement is ours. */
  readonly arriving: ReadonlySet<string>
}

const REFUSAL_CODE = { 'not-owner': 'MIGRATE_NOT_OWNER', 'unknown-cell': 'MIGRATE_UNKNOWN_CELL', stale: 'MIGRATE_REFUSED', protocol: 'MIGRATE_PROTOCOL' } as const
const refused = (r: Refusal): Error => migrateError(REFUSAL_CODE[r.why], r.message)
const encode = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v))
const decode = <T>(b: Uint8Array): T => JSON.parse(new TextDecoder().decode(b)) as T

export function createMover (ports: MoverPorts): Mover {
  const { placements: org, host, link, data, clock, protocols: names } = ports
  const arriving = new Set<string>()
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
    const d = handoff(p, org.self, fn, toId)
    if (!d.ok) throw refused(d)
    const epoch = d.claim.epoch
    org.claim(fn, d.claim)
    await host.stopFunction(fn)
    let stream: Duplex | undefined
    // Once the data has left, only the receiver's answer tells whether it claimed the function.
    let dataSent = false
    let sent: Sent
    let result: Result
    try {
      const opened = await openMove(toId)
      stream = track(opened.stream)
      const frames = readFrames(stream)[Symbol.asyncIterator]()
      await writeJson(stream, FRAME.header, { fn, epoch, from: org.self } satisfies Header)
      sent = await data.send(stream, frames, host.dataDir(fn), opened.v2, onFallback(toId))
      dataSent = true
      const sentAt = clock.now()
      result = await nextJson(frames, FRAME.result, 'result') as Result
      dataSent = false
      stream.end()
      // The split tells a slow link (data) from a slow start at the new owner (verify, start, health).
      log.info('data sent', { fn, to: toId, via: sent.via, bytes: sent.bytes, dataMs: sentAt - started, startMs: clock.now() - sentAt })
      if (!result.ok) throw migrateError('MIGRATE_REFUSED', `${org.nameOf(toId)} refused ${fn}: ${result.code}: ${result.message}`, { hint: result.hint })
    } catch (err) {
      stream?.destroy()
      const outcome = dataSent ? 'unknown' : 'refused'
      const back = restoreAfterFailedHandoff(epoch, outcome)
      log.warn('move failed; the function stays here', { fn, to: toId, outcome, epoch: back.epoch, err })
      if (outcome === 'unknown') org.note({ kind: 'move', text: `${fn}: no answer from ${org.nameOf(toId)} after the data left; serving here at epoch ${back.epoch}` })
      org.claim(fn, back)
      void host.startFunction(fn)
      throw err
    }
    // Keep nothing of ours that could be served by mistake; the new owner holds the verified copy.
    await data.discard(host.dataDir(fn), `${fn}-${epoch}`).catch((err: unknown) => { log.warn('could not drop the moved data here', { fn, err }) })
    org.note({ kind: 'move', text: `${fn} moved to ${org.nameOf(toId)} (${sent.bytes} bytes)` })
    return { fn, from: org.self, to: toId, epoch: result.epoch, ...sent, ms: clock.now() - started }
  }

  // The receiving side: verify, start, then claim. Any failure answers an error and leaves the function stopped here.
  const receive = (v2: boolean) => (raw: Duplex, from: string): void => {
    if (stopped) { raw.destroy(); return }
    const stream = track(raw)
    void (async () => {
      const frames = readFrames(stream)[Symbol.asyncIterator]()
      let fn = ''
      try {
        const h = await nextJson(frames, FRAME.header, 'header') as Header
        fn = typeof h.fn === 'string' ? h.fn : ''
        const a = arrival(org.placement(fn), h, from, ports.functions)
        if (!a.ok) throw refused(a)
        arriving.add(fn)
        await host.stopFunction(fn)
        const t0 = clock.now()
        const got = await data.receive(stream, frames, host.dataDir(fn), v2)
        const t1 = clock.now()
        await host.startFunction(fn)
        log.info('data received', { fn, from, via: got.via, bytes: got.bytes, dataMs: t1 - t0, startMs: clock.now() - t1 })
        const st = host.get(fn)
        if (st?.state !== 'running') {
          await host.stopFunction(fn)
          throw migrateError('MIGRATE_REFUSED', `${fn} did not become healthy here (${st?.state ?? 'unknown'}${st?.error != null ? `: ${st.error.message}` : ''})`)
        }
        org.claim(fn, { epoch: a.epoch })
        stream.end(jsonFrame(FRAME.result, { ok: true, epoch: org.placement(fn)?.epoch ?? a.epoch } satisfies Result))
      } catch (err) {
        const e = isOrganismError(err) ? err : migrateError('MIGRATE_REFUSED', (err as Error).message)
        log.warn('refused an incoming move', { fn, from, err: e })
        stream.end(jsonFrame(FRAME.result, { ok: false, code: e.code, message: e.message, hint: e.hint } satisfies Result))
      } finally {
        if (fn !== '') arriving.delete(fn)
      }
    })()
  }

  // A takeover: the owner is dead here too, so its data is out of reach; the function restarts here with an empty data dir.
  const takeOver = (fn: string, from: string): MoveResult => {
    const p = org.placement(fn)
    const d = takeover(p, fn, p == null ? 'unknown' : org.liveness(p.owner))
    if (!d.ok) throw refused(d)
    org.claim(fn, { epoch: d.epoch })
    org.note({ kind: 'move', text: `${fn} taken over from dead ${org.nameOf(p?.owner ?? '')} (epoch ${d.epoch}, without its data)` })
    return { fn, from, to: org.self, epoch: d.epoch, bytes: 0, sha256: '', ms: 0 }
  }

  return {
    name: 'mover',
    arriving,
    start: async () => {
      await link.handleStream(names.move, receive(false))
      await link.handleStream(names.moveV2, receive(true))
      await link.handle(names.moveRequest, async (body, from) => {
        if (stopped) throw migrateError('MIGRATE_REFUSED', 'this cell is stopping')
        const { fn, to, force } = decode<{ fn: string, to: string, force?: boolean }>(body)
        return encode(force === true ? takeOver(fn, from) : await moveHere(fn, to))
      })
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
      if (mopts.force === true) {
        if (toId === org.self) return takeOver(fn, org.self)
        return decode<MoveResult>(await link.request(toId, names.moveRequest, encode({ fn, to: toId, force: true })))
      }
      if (p.owner === org.self) return await moveHere(fn, toId)
      return decode<MoveResult>(await link.request(p.owner, names.moveRequest, encode({ fn, to: toId })))
    }
  }
}
