// The cell's status as one plain object: what `cell status` prints and `cell status --json` returns.
import type { Genome } from '../genome/types.ts'
import type { Supervisor } from '../supervisor/index.ts'
import type { Router, FunctionTraffic } from '../router/index.ts'
import type { Plan } from '../placement/index.ts'
import { shortId } from '../placement/index.ts'
import type { CellPaths } from './paths.ts'
import type { OrganismReport } from './views.ts'
import type { StoreStatus } from '../organism/index.ts'
import type { ReplicaStatus } from '../replica/index.ts'

export interface FunctionReport {
  name: string
  domain: string
  pathPrefix: string | null
  /** Where this cell sends the function's requests: here, another cell (by name), or nowhere right now. */
  route: string
  /** Why requests for it get 503 here right now (no owner, moving, owner dead), or null. */
  unavailable: string | null
  state: string
  port: number | null
  pid: number | null
  restarts: number
  error: { code: string, message: string, hint: string } | null
  cpuSeconds: number
  memoryBytes: number
  dataBytes: number
  traffic: FunctionTraffic
  /** Where another cell runs it: its requests/s and p99 as that cell publishes them (all its traffic, not only ours). */
  atOwner: { cell: string, requestsPerSecond: number, p99Ms: number } | null
  /** Where its data is copied, as this cell (its owner) keeps it; null where it is not replicated from here. */
  replication: { replica: string | null, state: string, lagMs: number, lastError: string | null } | null
}

export interface CellStatus {
  organism: string
  zone: string
  genome: { commit: string }
  cell: { id: string, name: string, pid: number, stateDir: string, startedAt: string, uptimeSeconds: number }
  router: { port: number, url: string }
  dns: { port: number }
  api: { port: number }
  functions: FunctionReport[]
  members: OrganismReport['members']
  placements: OrganismReport['placements']
  events: OrganismReport['events']
  /** Where ownership is decided: a local file while alone, else etcd (this cell its holder or a client). */
  store: StoreStatus
  /** The division policy's last word ("requests/s 240 > 200 for 60 s; …" or why it waits). */
  division: string
  /** How this cell reaches the cells it has forwarded requests to: their TLS forwarding port, or the member link. */
  forwarding: Array<{ cell: string, path: 'tls' | 'member', why?: string }>
}

export interface StatusParts {
  genome: Genome
  commit: string
  paths: CellPaths
  router: Router
  supervisor: Supervisor
  apiPort: number
  dnsPort: number
  startedAt: number
  now: number
  name: string
  organism: OrganismReport
  plan: Plan
  store: StoreStatus
  division: string
  replication: (fn: string) => ReplicaStatus | null
  forwarding: { path: (cell: string) => 'tls' | 'member' | 'unknown', why: (cell: string) => string | null }
}

export function cellStatus (parts: StatusParts): CellStatus {
  const { genome, router, supervisor, organism } = parts
  const nameOf = (id: string): string => organism.members.find((m) => m.id === id)?.name ?? shortId(id)
  return {
    organism: genome.organism,
    zone: genome.zone,
    genome: { commit: parts.commit },
    cell: { id: organism.self, name: parts.name, pid: process.pid, stateDir: parts.paths.root, startedAt: new Date(parts.startedAt).toISOString(), uptimeSeconds: Math.round((parts.now - parts.startedAt) / 1000) },
    router: { port: router.port, url: `http://127.0.0.1:${router.port}` },
    dns: { port: parts.dnsPort },
    api: { port: parts.apiPort },
    functions: genome.functions.map((f) => {
      const s = supervisor.get(f.name)
      const r = parts.plan.route(f.name)
      const rep = parts.replication(f.name)
      return {
        name: f.name,
        domain: f.domain,
        pathPrefix: f.pathPrefix,
        // A function on several cells: "here+beta,gamma" (this cell runs one of its instances too).
        route: r.kind === 'local' ? 'here' : r.kind === 'remote' ? nameOf(r.cell) : r.kind === 'spread' ? [...r.local ? ['here'] : [], r.cells.map(nameOf).join(',')].filter((x) => x !== '').join('+') || 'starting' : 'unavailable',
        unavailable: r.kind === 'unavailable' ? r.reason : null,
        state: r.kind === 'remote' || (r.kind === 'spread' && !r.local) ? 'remote' : s?.state ?? 'stopped',
        port: s?.port ?? null,
        pid: s?.pid ?? null,
        restarts: s?.restarts ?? 0,
        error: s?.error ?? null,
        cpuSeconds: s?.cpuSeconds ?? 0,
        memoryBytes: s?.memoryBytes ?? 0,
        dataBytes: s?.dataBytes ?? 0,
        traffic: router.stats(f.name),
        atOwner: r.kind !== 'remote' ? null : ((t) => ({ cell: nameOf(r.cell), requestsPerSecond: t?.rps ?? 0, p99Ms: t?.p99 ?? 0 }))(organism.members.find((m) => m.id === r.cell)?.traffic[f.name]),
        replication: rep == null ? null : { ...rep, replica: rep.replica == null ? null : nameOf(rep.replica) }
      }
    }),
    members: organism.members,
    placements: organism.placements,
    events: organism.events,
    store: parts.store,
    division: parts.division,
    forwarding: organism.members.filter((m) => m.id !== organism.self).flatMap((m) => {
      const path = parts.forwarding.path(m.id)
      const why = parts.forwarding.why(m.id)
      return path === 'unknown' ? [] : [{ cell: m.name, path, ...why != null ? { why } : {} }]
    })
  }
}
