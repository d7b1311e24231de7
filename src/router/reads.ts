// Per function, the last few distinct paths of reads answered 2xx: what the trial of its next version is asked again
// (an update's trial, cell/switch.ts), so that a version that breaks what users read never takes their traffic.

/** Distinct recent read paths kept per function. */
export const RECENT_READS = 20
const MAX_PATH = 2048

/** On the router's hot path: one map lookup per read, and no allocation while a function's reads repeat the last one. */
export class RecentReads {
  /** Per function, its paths in the order last read (a Map keeps insertion order; a read moves its path to the end). */
  private readonly byFn = new Map<string, Map<string, true>>()
  private readonly last = new Map<string, string>()

  note (fn: string, method: string | undefined, url: string | undefined, status: number): void {
    if (method !== 'GET' || status < 200 || status >= 300 || url == null || url.length > MAX_PATH || this.last.get(fn) === url) return
    this.last.set(fn, url)
    let paths = this.byFn.get(fn)
    if (paths == null) { paths = new Map(); this.byFn.set(fn, paths) }
    paths.delete(url)
    paths.set(url, true)
    if (paths.size > RECENT_READS) paths.delete(paths.keys().next().value as string)
  }

  /** Oldest first. */
  of (fn: string): string[] { return [...this.byFn.get(fn)?.keys() ?? []] }
}
