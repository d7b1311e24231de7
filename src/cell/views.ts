// What the organism looks like from this cell: for `cell status`, the live map and DNS (pure given their inputs).
import type { CellView, FunctionLoad, PlacementView } from '../state/index.ts'
import type { ZoneView } from '../dns/index.ts'
import { namedCells } from '../dns/index.ts'
import type { OrganismEvent } from '../organism/index.ts'
import { nameOf } from '../placement/index.ts'
import type { FlowView, OrganismView } from '../dashboard/index.ts'

export interface MemberReport {
  id: string
  name: string
  liveness: 'alive' | 'suspect' | 'dead'
  self: boolean
  address: string | null
  routerPort: number | null
  functions: string[]
  genome: string | null
  load: { rps: number, cpu: number, memory: number }
  /** Each function running there: requests/s and p99 as that cell last published them (every 10 s). */
  traffic: Record<string, FunctionLoad>
}

/**
 * Where a function is: its owner, or for one on several cells (`instances`: the cells whose records say they serve
 * it, `owner` the first of them or "" while none does) at epoch 0.
 */
export interface PlacementReport { fn: string, owner: string, ownerName: string, epoch: number, state: 'serving' | 'moving', replicaName?: string, to?: string, instances?: string[], instanceNames?: string[] }

/** Whether the cell `id` runs fn (owns it, or serves one of its instances). */
export const runsAt = (p: PlacementReport, id: string): boolean => p.instances != null ? p.instances.includes(id) : p.owner === id

export interface OrganismReport {
  self: string
  members: MemberReport[]
  placements: PlacementReport[]
  events: OrganismEvent[]
}

const hostPort = (addr: string | undefined): { host: string, port: number } | null => {
  if (addr == null) return null
  const i = addr.lastIndexOf(':')
  return i < 0 ? null : { host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(addr.slice(i + 1)) }
}

export function organismReport (self: string, cells: readonly CellView[], placements: readonly PlacementView[], events: OrganismEvent[], spread: readonly string[] = []): OrganismReport {
  const refs = cells.map((c) => ({ peer: c.peer, liveness: c.liveness, name: c.record?.body.name }))
  const name = (id: string): string => nameOf(refs, id)
  const instances = (fn: string): string[] => cells.filter((c) => (c.liveness !== 'dead' || c.peer === self) && c.record?.body.functions.includes(fn) === true).map((c) => c.peer).sort((a, b) => name(a).localeCompare(name(b)))
  const spreadReports: PlacementReport[] = spread.map((fn) => {
    const at = instances(fn)
    return { fn, owner: at[0] ?? '', ownerName: at.length === 0 ? 'none yet' : name(at[0]), epoch: 0, state: 'serving', instances: at, instanceNames: at.map(name) }
  })
  const members = cells.filter((c) => c.record != null || c.peer === self).map((c) => {
    const b = c.record?.body
    const router = hostPort(b?.addrs.router)
    return {
      id: c.peer,
      name: name(c.peer),
      liveness: c.peer === self ? 'alive' as const : c.liveness,
      self: c.peer === self,
      address: router?.host ?? null,
      routerPort: router?.port ?? null,
      functions: [...placements.filter((p) => p.owner === c.peer).map((p) => p.fn), ...spreadReports.filter((p) => runsAt(p, c.peer)).map((p) => p.fn)].sort(),
      genome: b?.genome ?? null,
      load: b?.load ?? { rps: 0, cpu: 0, memory: 0 },
      traffic: b?.traffic ?? {}
    }
  }).sort((a, b) => a.name.localeCompare(b.name))
  return {
    self,
    members,
    placements: [...placements.map((p): PlacementReport => ({ fn: p.fn, owner: p.owner, ownerName: name(p.owner), epoch: p.epoch, state: p.state, ...p.replica != null ? { replicaName: name(p.replica) } : {}, ...p.to != null ? { to: p.to } : {} })), ...spreadReports].sort((a, b) => a.fn.localeCompare(b.fn)),
    events
  }
}

/**
 * The zone every cell answers. The serial is Σ(2·epoch + moving): each step of a move (serving → moving →
 * the new owner's epoch) raises it, and every cell that has the same placements computes the same number.
 */
export function zoneView (zone: string, report: OrganismReport, domains: ReadonlyMap<string, string>, allCells: ReadonlySet<string> = new Set()): ZoneView {
  // A member whose name is not a usable label of its own is left out of the zone (it still serves requests).
  const { named } = namedCells(report.members, zone, [...domains.values()])
  const live = named.filter((m) => m.liveness !== 'dead' && m.address != null)
  const byId = new Map(report.members.map((m) => [m.id, m]))
  const liveAddresses = report.members.filter((m) => m.liveness !== 'dead' && m.address != null).map((m) => m.address as string)
  return {
    zone,
    serial: report.placements.reduce((s, p) => s + 2 * p.epoch + (p.state === 'moving' ? 1 : 0), 0),
    ttl: 5,
    cells: named.filter((m) => m.address != null).map((m) => ({ id: m.id, name: m.name, addresses: [m.address as string], routerPort: m.routerPort ?? 80, alive: m.liveness !== 'dead' })),
    functions: report.placements.flatMap((p) => {
      const domain = domains.get(p.fn)
      const owner = byId.get(p.owner)
      if (domain == null) return []
      // A function on several cells resolves to every cell that serves it.
      if (p.instances != null) {
        const at = p.instances.flatMap((id) => { const m = byId.get(id); return m != null && m.liveness !== 'dead' && m.address != null ? [m.address] : [] })
        return [{ domain, addresses: at.length > 0 && !allCells.has(p.fn) ? at : liveAddresses }]
      }
      // A function whose owner is gone still resolves to the live cells: any of them answers 503 with Retry-After.
      // `dns: all-cells` always does: clients spread over every cell, which forwards to the owner.
      const ownerUp = owner != null && owner.liveness !== 'dead' && owner.address != null
      const addresses = ownerUp && !allCells.has(p.fn) ? [owner.address as string] : liveAddresses
      return [{ domain, addresses }]
    }),
    nameservers: live.map((m) => ({ name: `${m.name}.${zone}`, addresses: [m.address as string] }))
  }
}

/** What the map draws as arrows: owner changes of the last minute, and what this cell's router forwards, per function. */
export interface FlowInput {
  moves: ReadonlyArray<{ fn: string, from: string, to: string, at: number }>
  /** Requests/s this cell's router receives for fn (all of it is forwarded when another cell owns fn). */
  received: (fn: string) => number
}

/** The arrows (pure): finished moves, moves under way (owner to receiver), and this cell's forwards with their rate. */
export function flowsOf (report: OrganismReport, input: FlowInput, now: number): FlowView[] {
  const moving = report.placements.filter((p) => p.state === 'moving' && p.to != null).map((p) => ({ kind: 'moving' as const, fn: p.fn, from: p.owner, to: p.to as string, at: now }))
  const forwards = report.placements.filter((p) => p.instances == null && p.owner !== report.self).flatMap((p) => {
    const rps = input.received(p.fn)
    return rps > 0 ? [{ kind: 'forward' as const, fn: p.fn, from: report.self, to: p.owner, at: now, requestsPerSecond: rps }] : []
  })
  return [...input.moves.map((m) => ({ kind: 'move' as const, ...m })), ...moving, ...forwards]
}

/** The live map's view: per-function traffic measured here for this cell's functions, as published for the others'. */
export function dashboardView (organism: string, zone: string, report: OrganismReport, domains: ReadonlyMap<string, string>, local: (fn: string) => { state: string, requestsPerSecond: number, p99Ms: number } | null, now: number, flows: FlowInput = { moves: [], received: () => 0 }): OrganismView {
  return {
    organism,
    zone,
    self: report.self,
    at: now,
    cells: report.members.map((m) => ({
      id: m.id,
      name: m.name,
      address: m.address == null ? '' : `${m.address}${m.routerPort != null ? `:${m.routerPort}` : ''}`,
      state: m.liveness,
      genome: m.genome?.slice(0, 12) ?? '',
      load: { requestsPerSecond: m.load.rps, cpu: m.load.cpu, memoryBytes: m.load.memory },
      functions: report.placements.filter((p) => runsAt(p, m.id)).map((p) => {
        const here = m.self ? local(p.fn) : null
        const there = m.traffic[p.fn]
        return { name: p.fn, domain: domains.get(p.fn) ?? '', state: p.state === 'moving' ? 'moving' : here?.state ?? 'serving', requestsPerSecond: here?.requestsPerSecond ?? there?.rps ?? 0, p99Ms: here?.p99Ms ?? there?.p99 ?? 0, epoch: p.epoch }
      })
    })),
    events: report.events,
    flows: flowsOf(report, flows, now)
  }
}
