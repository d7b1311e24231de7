// Which cell names may stand in the zone (pure): a cell is `<name>.<zone>`, so its name must be one DNS label, not a
// function's host, and one cell's alone. A member that publishes another name ("." , "a.b", a function's label, a
// name another member had first) is left out of the zone instead of shadowing what the name should answer.
import { normalizeName } from './records.ts'
import { isDnsLabel } from '../core/net-names.ts'

/** Why name cannot be a cell's name in zone, or null. functionDomains: every function's domain. */
export function cellNameProblem (name: string, zone: string, functionDomains: Iterable<string>): string | null {
  if (!isDnsLabel(name)) return `"${name.slice(0, 80)}" is not one DNS label (lower-case letters, digits and inner hyphens, at most 63)`
  const host = `${name}.${normalizeName(zone)}`
  for (const d of functionDomains) if (normalizeName(d) === host) return `"${name}" would be the host of function domain ${host}`
  return null
}

/**
 * The cells the zone names: those whose name is usable; when two claim one name, the one with the lower id keeps it
 * (every cell picks the same), the other is left out and listed with why.
 */
export function namedCells<T extends { id: string, name: string }> (cells: readonly T[], zone: string, functionDomains: readonly string[]): { named: T[], refused: Array<{ cell: T, why: string }> } {
  const named: T[] = []
  const refused: Array<{ cell: T, why: string }> = []
  const taken = new Map<string, string>()
  for (const c of [...cells].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) {
    const problem = cellNameProblem(c.name, zone, functionDomains)
    const first = taken.get(c.name)
    if (problem != null) refused.push({ cell: c, why: problem })
    else if (first != null) refused.push({ cell: c, why: `"${c.name}" is already the name of cell ${first}` })
    else { taken.set(c.name, c.id); named.push(c) }
  }
  return { named, refused }
}
