// Which instance of a function on several cells gets a request: the one with the fewest requests outstanding here,
// this cell's own on a tie (no hop), and not one whose cell just failed to answer (for a few seconds).

/** An instance as the balancer sees it: "local" or the id of the cell that runs it. */
export type InstanceKey = string
export const LOCAL: InstanceKey = 'local'

/** How long a cell whose link failed gets no request (unless nothing else is left): about a failure detector's bound. */
export const EJECT_MS = 5_000

export class Balancer {
  private readonly outstanding = new Map<string, number>()
  private readonly ejected = new Map<string, number>()
  private turn = 0

  /** The instance for the next request of fn among `keys`, leaving out `exclude`; null when none is left. */
  pick (fn: string, keys: readonly InstanceKey[], now: number, exclude: ReadonlySet<InstanceKey> = new Set()): InstanceKey | null {
    const open = keys.filter((k) => !exclude.has(k))
    const healthy = open.filter((k) => (this.ejected.get(k) ?? -Infinity) <= now)
    // Every instance failed of late: try one anyway rather than answer 502 from here.
    const choices = healthy.length > 0 ? healthy : open
    if (choices.length === 0) return null
    let best: InstanceKey[] = []
    let least = Infinity
    for (const k of choices) {
      const n = this.outstanding.get(`${fn}\0${k}`) ?? 0
      if (n < least) { least = n; best = [k] } else if (n === least) best.push(k)
    }
    if (best.includes(LOCAL)) return LOCAL
    this.turn = (this.turn + 1) % 1_000_000
    return best[this.turn % best.length]
  }

  /** Counts a request sent to an instance; the returned function counts it done (once, however often called). */
  begin (fn: string, key: InstanceKey): () => void {
    const id = `${fn}\0${key}`
    this.outstanding.set(id, (this.outstanding.get(id) ?? 0) + 1)
    let done = false
    return () => {
      if (done) return
      done = true
      const n = (this.outstanding.get(id) ?? 1) - 1
      if (n <= 0) this.outstanding.delete(id)
      else this.outstanding.set(id, n)
    }
  }

  /** A cell's link failed: no requests to it for EJECT_MS. */
  eject (key: InstanceKey, now: number): void {
    if (key === LOCAL) return
    this.ejected.set(key, now + EJECT_MS)
    if (this.ejected.size > 1000) for (const [k, until] of this.ejected) if (until <= now) this.ejected.delete(k)
  }
}
