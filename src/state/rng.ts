// A seeded random source (mulberry32), so the detector and the simulator are reproducible.

export type Rng = () => number

export function seededRng (seed: number): Rng {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Up to n distinct items of list chosen at random, skipping those `skip` rejects. */
export function pickRandom<T> (list: readonly T[], n: number, rng: Rng, skip: (item: T) => boolean): T[] {
  const out: T[] = []
  if (list.length === 0 || n <= 0) return out
  // Rejection sampling: cheap for n << list.length; a bounded number of tries keeps it finite.
  const seen = new Set<number>()
  for (let tries = 0; out.length < n && tries < n * 8 + 16 && seen.size < list.length; tries++) {
    const i = Math.floor(rng() * list.length)
    if (seen.has(i)) continue
    seen.add(i)
    if (!skip(list[i])) out.push(list[i])
  }
  if (out.length < n && seen.size < list.length && list.length <= 64) {
    for (let i = 0; i < list.length && out.length < n; i++) if (!seen.has(i) && !skip(list[i])) out.push(list[i])
  }
  return out
}
