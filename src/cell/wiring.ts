// The glue between the organism's plan and this cell's parts: router upstreams, which functions run here, our own record.
import { createHash } from 'node:crypto'
import { logger } from '../core/log.ts'
import { coalesced } from '../core/coalesce.ts'
import type { Supervisor } from '../supervisor/index.ts'
import type { Router, Upstream } from '../router/index.ts'
import type { Organism } from '../organism/organism.ts'
import type { Mover } from '../organism/move.ts'
import { protocols } from '../organism/protocols.ts'
import { reconcile } from '../placement/index.ts'

const log = logger('cell')

/** A short, stable DNS label for a cell that has no name of its own. */
export function defaultCellName (peerId: string): string {
  return `cell-${createHash('sha256').update(peerId).digest('hex').slice(0, 6)}`
}

/** Where the router sends a function's requests: the local process, the owner over the peer link, or a 503. */
export function upstreamFor (org: Organism, supervisor: Supervisor, organism: string) {
  const http = protocols(organism).http
  return (fn: string, forwarded: boolean): Upstream => {
    const route = org.plan().route(fn)
    if (route.kind === 'unavailable') return route
    if (route.kind === 'remote') {
      // A request that already crossed a link is never sent on: two cells that disagree must not bounce it.
      if (forwarded) return { kind: 'unavailable', reason: `this cell does not own ${fn} (placement is settling)`, retryAfterSeconds: 1 }
      return { kind: 'remote', cell: route.cell, open: async () => await org.node.openStream(route.cell, http) }
    }
    const port = supervisor.readyPort(fn)
    if (port != null) return { kind: 'local', port }
    const st = supervisor.get(fn)
    const wait = st?.nextRestartAt != null ? Math.max(1, Math.ceil((st.nextRestartAt - Date.now()) / 1000)) : 2
    return { kind: 'unavailable', reason: `function ${fn} is ${st?.state ?? 'starting'}`, retryAfterSeconds: wait }
  }
}

/** Keeps the supervisor running exactly the functions this cell owns (and those arriving by a move). */
export function keepReconciled (org: Organism, supervisor: Supervisor, mover: () => Mover | null): () => void {
  return coalesced(async () => {
    const running = new Set(supervisor.status().filter((s) => s.state !== 'stopped' && s.state !== 'failed').map((s) => s.name))
    const arriving = mover()?.arriving ?? new Set<string>()
    const { start, stop } = reconcile(running, org.plan())
    for (const fn of stop) if (!arriving.has(fn)) { log.info('stopping a function this cell no longer owns', { fn }); await supervisor.stopFunction(fn) }
    for (const fn of start) { log.info('starting a function this cell owns', { fn }); void supervisor.startFunction(fn) }
  }, (err) => { log.warn('reconcile failed', { err }) })
}

/** Publishes this cell's record: addresses, load and functions, every few seconds and when they change. */
export function publishOwnRecord (org: Organism, parts: { name: string, genome: string, software: string, routerAddr: () => string, dnsAddr: () => string | undefined, supervisor: Supervisor, router: Router }): () => void {
  let last = ''
  let lastAt = 0
  let cpuBefore = { at: Date.now(), seconds: 0 }
  return () => {
    const statuses = parts.supervisor.status()
    // CPU as cores in use since the last record (the unit of the genome's division limits).
    const cpuSeconds = statuses.reduce((s, f) => s + f.cpuSeconds, 0)
    const now = Date.now()
    const cores = now > cpuBefore.at ? Math.max(0, (cpuSeconds - cpuBefore.seconds) / ((now - cpuBefore.at) / 1000)) : 0
    const running = statuses.filter((s) => s.state === 'running').map((s) => s.name).sort()
    const rps = running.reduce((sum, fn) => sum + parts.router.stats(fn).requestsPerSecond, 0)
    const body = {
      name: parts.name,
      addrs: { peer: org.node.addrs(), router: parts.routerAddr(), dns: parts.dnsAddr() },
      load: { rps: Math.round(rps * 10) / 10, cpu: Math.round(cores * 100) / 100, memory: statuses.reduce((s, f) => s + f.memoryBytes, 0) },
      functions: running,
      software: parts.software,
      genome: parts.genome
    }
    const shape = JSON.stringify([body.addrs, body.functions])
    // Addresses and functions go out at once; load only every 10 s, so a busy cell does not flood the organism.
    if (shape === last && Date.now() - lastAt < 10_000) return
    cpuBefore = { at: now, seconds: cpuSeconds }
    last = shape
    lastAt = Date.now()
    org.sync.setOwnRecord({ ...body, at: Date.now() })
  }
}
