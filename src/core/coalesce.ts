// One run at a time: a trigger during a run asks for exactly one more run after it (reconcile loops, DNS pushes).
export function coalesced (work: () => Promise<void>, onError: (err: unknown) => void): () => void {
  let running = false
  let again = false
  const run = async (): Promise<void> => {
    if (running) { again = true; return }
    running = true
    try {
      do {
        again = false
        try { await work() } catch (err) { onError(err) }
      } while (again)
    } finally {
      running = false
    }
  }
  return () => { void run() }
}
