// One holder at a time per function: a batch being applied, a manifest being read and a takeover never overlap.

export interface FnLocks {
  with: <T>(fn: string, work: () => Promise<T>) => Promise<T>
}

export function fnLocks (): FnLocks {
  const tails = new Map<string, Promise<unknown>>()
  return {
    with: async (fn, work) => {
      const before = tails.get(fn) ?? Promise.resolve()
      const mine = before.catch(() => {}).then(work)
      const tail = mine.catch(() => {})
      tails.set(fn, tail)
      try { return await mine } finally { if (tails.get(fn) === tail) tails.delete(fn) }
    }
  }
}
