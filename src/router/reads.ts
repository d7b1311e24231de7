// Per function, the last few distinct paths of reads answered 2xx: what the trial of its next version is asked again
// (an update's trial, cell/switch.ts), so that a version that breaks what users read never takes their traffic.

/** Distinct recent read paths kept per function. */
export const RECENT_READS = 20
const MAX_PATH = 2048

export class RecentReads {
  private readonly byFn = new Map<string, string[]>()

  note (fn: string, method: string | undefined, url: string | undefined, status: number): void {
    if (method !== 'GET' || status < 200 || status >= 300 || url == null || url.length > MAX_PATH) return
    const list = this.byFn.get(fn) ?? []
    if (list.at(-1) === url) return
    this.byFn.set(fn, [...list.filter((u) => u !== url), url].slice(-RECENT_READS))
  }

  /** Oldest first. */
  of (fn: string): string[] { return [...this.byFn.get(fn) ?? []] }
}
