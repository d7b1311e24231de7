// The glue between the organism's plan and this cell's parts, each a Startable: router upstreams, the reconciler
// (which functions run here), the record publisher (our own record).
import { createHash } from 'node:crypto'
import type { Duplex } from 'node:stream'
import { logger } from '../core/log.ts'
import { coalesced } from '../core/coalesce.ts'
import type { Scheduler } from '../core/clock.ts'
import type { Startable } from '../core/lifecycle.ts'
import type { Supervisor } from '../supervisor/index.ts'
import type { Upstream } from '../router/index.ts'
import type { Organism } from '../organism/index.ts'
import { reconcile } from '../placement/index.ts'
import { nextRecord, firstMemory } from './own-record.ts'
import type { RecordInput } from './own-record.ts'

const log = logger('cell')

/** A short, stable DNS label for a cell that has no name of its own. */
export function defaultCellName (peerId: string): string {
  return `cell-${createHash('sha256').update(peerId).digest('hex').slice(0, 6)}`
}

/** Requests that may change a function's data: everything but reads. */
const READS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Where the router sends a function's requests: the local process, the owner over the peer link, or a 503. An owner
 * whose lease in the ownership store has lapsed (it cannot reach the store, so another cell may soon take over) still
 * serves reads but answers writes 503: two cells never both accept writes for one function.
 */
export function upstreamFor (org: Pick<Organism, 'plan' | 'self'>, openHttp: (cell: string) => Promise<Duplex>, supervisor: Supervisor, clock: Scheduler, mayWrite: (now: number) => boolean = () => true, commit: (fn: string) => Promise<void> | null = () => null) {
  return (fn: string, forwarded: boolean, method = 'GET', hopFrom?: string): Upstream => {
    const route = org.plan().route(fn)
    if (route.kind === 'spread') return spreadUpstream(fn, route.cells, supervisor.readyPort(fn), openHttp, forwarded, hopFrom)
    // A function moving, or whose owner is gone (its replica takes it over in seconds): requests wait for it.
    if (route.kind === 'unavailable') return { ...route, hold: true }
    if (route.kind === 'remote') {
      // A request that already crossed a link is not sent on to a third cell: two cells that disagree must not bounce
      // it. One way back is allowed: the cell that forwarded it here owns fn now (a move finished while it was on its
      // way), and that cell serves a request that comes back to it, or holds it until its own view has caught up.
      if (forwarded && (hopFrom == null || hopFrom !== route.cell)) return { kind: 'unavailable', reason: `this cell does not own ${fn} (placement is settling)`, retryAfterSeconds: 1, hold: true }
      return { kind: 'remote', cell: route.cell, open: async () => await openHttp(route.cell), ...forwarded ? { bounce: true } : {} }
    }
    const writes = !READS.has(method.toUpperCase())
    if (writes && !mayWrite(clock.now())) {
      return { kind: 'unavailable', reason: `this cell cannot reach the ownership store, so its lease on ${fn} has lapsed: writes wait until the store is back or another cell takes ${fn} over (reads are still served)`, retryAfterSeconds: 2 }
    }
    const port = supervisor.readyPort(fn)
    // A write's answer waits until its changes are on the function's replica (durability: sync).
    if (port != null) return writes ? { kind: 'local', port, commit: () => commit(fn), served: `${org.self} ${route.epoch}` } : { kind: 'local', port }
    const st = supervisor.get(fn)
    const wait = st?.nextRestartAt != null ? Math.max(1, Math.ceil((st.nextRestartAt - clock.now()) / 1000)) : 2
    // Starting (or restarting soon): worth the wait; failed, or restarting after a long back-off: not.
    return { kind: 'unavailable', reason: `function ${fn} is ${st?.state ?? 'starting'}`, retryAfterSeconds: wait, hold: st?.state !== 'failed' && wait <= 2 }
  }
}

/**
 * A stateless function's instances: the local one (if ready) and the other cells that serve it; the router picks the
 * least busy. A request forwarded here goes on once more, to another instance and marked as a last hop, only when
 * this cell has none ready (it stopped its instance just after the sender chose it).
 */
function spreadUpstream (fn: string, cells: readonly string[], port: number | null, openHttp: (cell: string) => Promise<Duplex>, forwarded: boolean, hopFrom?: string): Upstream {
  // A forwarded request goes no further when this cell serves it, or when it already was sent on once.
  const stays = forwarded && (port != null || hopFrom == null || hopFrom.endsWith(' back'))
  const sender = hopFrom?.split(' ')[0]
  const others = stays ? [] : cells.filter((c) => c !== sender)
  const remote = others.map((cell) => ({ kind: 'remote' as const, cell, open: async () => await openHttp(cell), ...forwarded ? { bounce: true } : {} }))
  if (port == null && remote.length === 0) return { kind: 'unavailable', reason: `no cell serves ${fn} yet (its instances are starting)`, retryAfterSeconds: 1, hold: true }
  return { kind: 'spread', port, remote }
}

/**
 * Tells the router when a function's process leaves its port (stopping, exited, restarted elsewhere): the router
 * then sends it nothing more on kept-alive connections, so that its server's close() can finish (router.retirePort).
 */
export function portRetirer (supervisor: Pick<Supervisor, 'changes'>, retire: (port: number) => void): Startable {
  const ac = new AbortController()
  const serving = new Map<string, number>()
  let loop: Promise<void> = Promise.resolve()
  return {
    name: 'port retirer',
    start: async () => {
      loop = (async () => {
        for await (const s of supervisor.changes(ac.signal)) {
          const was = serving.get(s.name)
          const serves = s.port != null && (s.state === 'starting' || s.state === 'running' || s.state === 'unhealthy')
          if (was != null && (!serves || s.port !== was)) { serving.delete(s.name); retire(was) }
          if (serves) serving.set(s.name, s.port as number)
        }
      })()
    },
    stop: async () => { ac.abort(); await loop }
  }
}

/** Keeps the supervisor running exactly the functions this cell owns (and those arriving by a move). */
export function createReconciler (org: Pick<Organism, 'plan' | 'onChange'>, supervisor: Pick<Supervisor, 'status' | 'startFunction' | 'stopFunction'>, arriving: () => ReadonlySet<string>, settled: (fn: string) => Promise<void> = async () => {}): Startable {
  let off: (() => void) | null = null
  const run = coalesced(async () => {
    if (off == null) return
    const running = new Set(supervisor.status().filter((s) => s.state !== 'stopped' && s.state !== 'failed').map((s) => s.name))
    const { start, stop } = reconcile(running, org.plan())
    const here = arriving()
    for (const fn of stop) if (!here.has(fn)) { log.info('stopping a function this cell no longer owns', { fn }); await supervisor.stopFunction(fn) }
    // A function taken over starts once its replica's last batches are in its files.
    for (const fn of start) { log.info('starting a function this cell owns', { fn }); void settled(fn).then(async () => { await supervisor.startFunction(fn) }) }
  }, (err) => { log.warn('reconcile failed', { err }) })
  return {
    name: 'reconciler',
    start: async () => { off = org.onChange(run); run() },
    stop: async () => { off?.(); off = null; await run.idle() }
  }
}

/** Publishes this cell's record: addresses, load and functions, every 2 s when they changed, load every 10 s. */
export function createRecordPublisher (org: Pick<Organism, 'setOwnRecord'>, input: () => RecordInput, clock: Scheduler): Startable {
  let mem = firstMemory(clock.now())
  let stopTimer: (() => void) | null = null
  const publish = (): void => {
    const next = nextRecord(mem, input(), clock.now())
    mem = next.mem
    if (next.body != null) org.setOwnRecord(next.body)
  }
  return {
    name: 'record publisher',
    start: async () => { publish(); stopTimer = clock.every(2000, publish) },
    stop: async () => { stopTimer?.(); stopTimer = null }
  }
}
