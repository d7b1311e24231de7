// One run at a time: a trigger during a run asks for exactly one more run after it (reconcile loops, DNS pushes).

export interface Coalesced {
  (): void
  /** Resolves once no run is under way (a stopping part waits for its last run). */
  idle: () => Promise<void>
}

export function coalesced (work: () => Promise<void>, onError: (err: unknown) => void): Coalesced {
  let running: Promise<void> | null = null
  let again = false
  const run = async (): Promise<void> => {
    try {
      do {
        again = false
        try { await work() } catch (err) { onError(err) }
      } while (again)
    } finally {
      running = null
    }
  }
  const trigger = (): void => {
    if (running != null) { again = true; return }
    running = run()
  }
  return Object.assign(trigger, { idle: async () => { await running } })
}
