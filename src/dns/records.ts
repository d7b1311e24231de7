// The zone's records built from a ZoneView: one pure function shared by the answerer and the RFC 2136 push.
import { isIPv4, isIPv6 } from 'node:net'
import type { Answer, SoaAnswer } from 'dns-packet'
import type { ZoneView } from './types.ts'

/** Owner of the SRV records that list the live cells' routers (RFC 2782 naming: _service._proto). */
export const SRV_LABEL = '_organism._tcp'
/** SOA, NS and glue change rarely; a longer TTL than the placement records keeps resolvers from asking often. */
export const INFRA_TTL = 300

export interface Zone {
  apex: string
  soa: SoaAnswer
  /** Lower-case owner name (no trailing dot) -> its records, SOA and NS included. */
  byName: Map<string, Answer[]>
}

export function normalizeName (name: string): string {
  return name.toLowerCase().replace(/\.+$/, '')
}

export function inZone (name: string, apex: string): boolean {
  return name === apex || name.endsWith('.' + apex)
}

export function soaRecord (view: ZoneView): SoaAnswer {
  const apex = normalizeName(view.zone)
  return {
    name: apex,
    type: 'SOA',
    ttl: INFRA_TTL,
    data: {
      mname: normalizeName(view.nameservers[0]?.name ?? apex),
      rname: `hostmaster.${apex}`,
      serial: view.serial >>> 0,
      // Nobody transfers this zone from a cell (no AXFR), so refresh/retry/expire only need to be sane.
      refresh: 300,
      retry: 60,
      expire: 86400,
      // RFC 2308: the negative-caching TTL; short, so that a name that appears after a move is seen quickly.
      minimum: view.ttl
    }
  }
}

/** A and AAAA records for a list of address literals; anything that is not an IP literal is skipped. */
export function addressRecords (name: string, addresses: readonly string[], ttl: number): Answer[] {
  const out: Answer[] = []
  for (const address of addresses) {
    if (isIPv4(address)) out.push({ name, type: 'A', ttl, data: address })
    else if (isIPv6(address)) out.push({ name, type: 'AAAA', ttl, data: address })
  }
  return out
}

/** The records a cell owns and pushes to an external primary: functions, cell hosts, the SRV set. */
export function placementRecords (view: ZoneView): Answer[] {
  const apex = normalizeName(view.zone)
  const out: Answer[] = []
  for (const cell of view.cells) {
    const host = `${normalizeName(cell.name)}.${apex}`
    // A dead cell keeps its host record (its address has not changed); only the SRV set drops it.
    out.push(...addressRecords(host, cell.addresses, view.ttl))
    if (cell.alive) out.push({ name: `${SRV_LABEL}.${apex}`, type: 'SRV', ttl: view.ttl, data: { priority: 0, weight: 10, port: cell.routerPort, target: host } })
  }
  for (const fn of view.functions) out.push(...addressRecords(normalizeName(fn.domain), fn.addresses, view.ttl))
  // Only names below the apex: its SOA and NS are the zone's owner's, never a cell's to change.
  return tidy(out.filter((rr) => { const n = normalizeName(rr.name); return n !== apex && inZone(n, apex) }))
}

/** Everything the zone answers with, indexed by owner name. */
export function buildZone (view: ZoneView): Zone {
  const apex = normalizeName(view.zone)
  const soa = soaRecord(view)
  const all: Answer[] = [soa]
  for (const ns of view.nameservers) {
    const nsName = normalizeName(ns.name)
    all.push({ name: apex, type: 'NS', ttl: INFRA_TTL, data: nsName })
    if (inZone(nsName, apex)) all.push(...addressRecords(nsName, ns.addresses, INFRA_TTL))
  }
  all.push(...placementRecords(view))
  // A function at the apex itself is answered here; it is never pushed to a primary (the apex is not ours to change).
  for (const fn of view.functions) if (normalizeName(fn.domain) === apex) all.push(...addressRecords(apex, fn.addresses, view.ttl))
  const byName = new Map<string, Answer[]>()
  for (const rr of tidy(all)) {
    const key = normalizeName(rr.name)
    const list = byName.get(key)
    if (list == null) byName.set(key, [rr])
    else list.push(rr)
  }
  return { apex, soa, byName }
}

/** Drops duplicate records and gives each RRset one TTL (its smallest), as RFC 2181 §5.2 requires. */
export function tidy (records: readonly Answer[]): Answer[] {
  const seen = new Set<string>()
  const minTtl = new Map<string, number>()
  const out: Answer[] = []
  for (const rr of records) {
    const set = `${normalizeName(rr.name)}/${rr.type}`
    const key = `${set}/${JSON.stringify('data' in rr ? rr.data : null)}`
    const ttl = 'ttl' in rr ? rr.ttl ?? 0 : 0
    minTtl.set(set, Math.min(minTtl.get(set) ?? ttl, ttl))
    if (seen.has(key)) continue
    seen.add(key)
    out.push({ ...rr, name: normalizeName(rr.name) } as Answer)
  }
  return out.map((rr) => rr.type === 'OPT' ? rr : { ...rr, ttl: minTtl.get(`${rr.name}/${rr.type}`) ?? 0 } as Answer)
}
