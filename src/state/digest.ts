// Anti-entropy (pure): a compact summary of a store, and what two stores must exchange to agree.
import { compareSummary, summary, type Store, type Summary } from './merge.ts'

/** key -> [epoch, tie, version]: ~40 bytes a key as JSON. */
export type Digest = Record<string, Summary>

export function digest (store: Store): Digest {
  const d: Digest = {}
  for (const [key, r] of store) d[key] = summary(r)
  return d
}

const isSummary = (x: unknown): x is Summary =>
  Array.isArray(x) && x.length === 3 && x.every((n) => Number.isSafeInteger(n) && n >= 0)

/** A digest from the wire, or undefined when it is not one. */
export function asDigest (x: unknown, maxKeys = 100_000): Digest | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return undefined
  const entries = Object.entries(x)
  if (entries.length > maxKeys) return undefined
  for (const [k, v] of entries) if (k.length > 600 || !isSummary(v)) return undefined
  return x as Digest
}

/** send: keys where local is newer or the remote lacks them; want: keys where the remote is newer or local lacks them. */
export function diff (local: Store, remote: Digest): { send: string[], want: string[] } {
  const send: string[] = []
  const want: string[] = []
  for (const [key, r] of local) {
    const theirs = remote[key]
    if (theirs === undefined || compareSummary(summary(r), theirs) > 0) send.push(key)
  }
  for (const [key, theirs] of Object.entries(remote)) {
    const mine = local.get(key)
    if (mine === undefined || compareSummary(theirs, summary(mine)) > 0) want.push(key)
  }
  return { send, want }
}
