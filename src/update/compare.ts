// Whether a running cell can take a new commit without a restart (pure): the same organism, the same functions
// with the same names, domains, data and placement; what may differ is how each function is built and started.
import type { FunctionSpec, Genome } from '../genome/types.ts'

/** Fields of a function an update may change in place: its code and how it is set up, started and checked. */
const IN_PLACE: ReadonlyArray<keyof FunctionSpec> = ['code', 'codeDir', 'setup', 'start', 'health', 'env', 'port']
/** Fields of the genome that are not the functions, nor which commit and folder it is, nor how updates roll out or quarantined cells are replaced (read anew). */
const SKIP: ReadonlyArray<keyof Genome> = ['functions', 'root', 'commit', 'update', 'immune']

const without = <T extends object>(o: T, keys: ReadonlyArray<keyof T>): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([k]) => !(keys as readonly string[]).includes(k))) as Partial<T>

/** The first difference that needs every cell restarted, in words, or null when the update applies in place. */
export function inPlaceProblem (running: Genome, next: Genome): string | null {
  const names = (g: Genome): string[] => g.functions.map((f) => f.name)
  const added = names(next).filter((n) => !names(running).includes(n))
  const removed = names(running).filter((n) => !names(next).includes(n))
  if (added.length > 0) return `it adds function${added.length > 1 ? 's' : ''} ${added.join(', ')}`
  if (removed.length > 0) return `it removes function${removed.length > 1 ? 's' : ''} ${removed.join(', ')}`
  for (const f of running.functions) {
    const g = next.functions.find((x) => x.name === f.name) as FunctionSpec
    const a = without(f, IN_PLACE)
    const b = without(g, IN_PLACE)
    const field = [...new Set([...Object.keys(a), ...Object.keys(b)])].find((k) => JSON.stringify(a[k as keyof FunctionSpec]) !== JSON.stringify(b[k as keyof FunctionSpec]))
    if (field != null) return `it changes ${field} of function ${f.name}`
  }
  const a = without(running, SKIP)
  const b = without(next, SKIP)
  const field = [...new Set([...Object.keys(a), ...Object.keys(b)])].find((k) => JSON.stringify(a[k as keyof Genome]) !== JSON.stringify(b[k as keyof Genome]))
  return field == null ? null : `it changes the genome's ${field}`
}
