// What a division takes (pure): the function to hand off, and a pool host that no member runs on and that has not
// been tried already.

/** The busiest local function (requests/s here), or null when this cell runs none. */
export function functionToHandOff (local: readonly string[], rps: (fn: string) => number): string | null {
  // A stable sort: among equals, the genome's order.
  return [...local].sort((a, b) => rps(b) - rps(a))[0] ?? null
}

/** The host part of a `host:port` or `[v6]:port` address. */
export function hostOf (addr: string): string {
  const i = addr.lastIndexOf(':')
  return (i < 0 ? addr : addr.slice(0, i)).replace(/^\[|\]$/g, '')
}

/**
 * The first pool host (by URL) that no member's router address is on and that this cell has not tried yet; a host
 * that failed once is not retried by the loop (an operator's `cell divide` still may).
 */
export function freePoolHost (pool: ReadonlyArray<{ url: string, host: string }>, memberRouterAddrs: ReadonlyArray<string | undefined>, tried: ReadonlySet<string>): string | null {
  const taken = new Set(memberRouterAddrs.filter((a) => a != null).map(hostOf))
  return pool.find((h) => !taken.has(h.host) && !tried.has(h.url))?.url ?? null
}
