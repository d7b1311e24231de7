// How an update rolls through the organism (pure): the waves of cells after the canary, and a cell's gate after its
// bake (health and the share of 5xx answers), from figures the cell measured.

/**
 * The cells after the canary in `count` waves, in the order given; two cells that serve an instance of the same
 * function never share a wave (an update restarts each cell's functions), so one instance at most is out at once.
 */
export function planWaves (cells: readonly string[], count: number, serves: (cell: string) => readonly string[]): string[][] {
  const waves: string[][] = Array.from({ length: Math.max(1, Math.min(count, cells.length)) }, () => [])
  cells.forEach((cell, i) => {
    const mine = new Set(serves(cell))
    const clash = (wave: readonly string[]): boolean => wave.some((other) => serves(other).some((fn) => mine.has(fn)))
    for (let k = 0; k < waves.length; k++) {
      const wave = waves[(i + k) % waves.length]
      if (!clash(wave)) { wave.push(cell); return }
    }
    waves.push([cell])
  })
  return waves.filter((w) => w.length > 0)
}

/** A cell's requests and 5xx answers (cumulative) over the functions it serves, at the start and the end of a bake. */
export interface BakeFigures { readonly requests: number, readonly errors5xx: number }

/** Fewer 5xx than this in a bake never fail it: two errors in ten requests say little. */
export const MIN_ERRORS = 3

/** Null when the bake passed; else why not. `unhealthy`: the functions not running healthy at its end. */
export function gateVerdict (before: BakeFigures, after: BakeFigures, unhealthy: readonly string[], max5xx: number): string | null {
  if (unhealthy.length > 0) return `not healthy on it: ${unhealthy.join(', ')}`
  const requests = Math.max(0, after.requests - before.requests)
  const errors = Math.max(0, after.errors5xx - before.errors5xx)
  if (errors >= MIN_ERRORS && errors > max5xx * requests) return `${errors} of ${requests} requests answered 5xx during the bake (more than ${(max5xx * 100).toFixed(1)} %)`
  return null
}
