// Did-you-mean: the closest known word by edit distance (with transpositions), if it is close enough.

/** Optimal string alignment distance: insert, delete, substitute, swap two neighbours. */
export function editDistance (a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/** The best candidate within distance 2 (1 for short words), so that "prot" suggests "port" but "xyz" suggests nothing. */
export function suggest (word: string, candidates: readonly string[]): string | null {
  const w = word.toLowerCase()
  let best: string | null = null
  let bestDistance = Infinity
  for (const c of candidates) {
    const dist = editDistance(w, c.toLowerCase())
    const limit = c.length <= 3 ? 1 : 2
    if (dist <= limit && dist < bestDistance) { best = c; bestDistance = dist }
  }
  return best
}
