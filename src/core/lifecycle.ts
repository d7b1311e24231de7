// Start and stop in a known order: components start first to last and stop last to first.
import { logger } from './log.ts'

export interface Startable {
  readonly name: string
  start: () => Promise<void>
  stop: () => Promise<void>
}

const log = logger('lifecycle')

/** Starts each in order; if one fails, stops those already started (in reverse) and rethrows. */
export async function startAll (parts: readonly Startable[]): Promise<() => Promise<void>> {
  const started: Startable[] = []
  const stopStarted = async (): Promise<void> => {
    for (const part of started.reverse()) {
      try { await part.stop() } catch (err) { log.warn(`stopping ${part.name} failed`, { err }) }
    }
    started.length = 0
  }
  for (const part of parts) {
    try {
      await part.start()
      started.push(part)
    } catch (err) {
      await stopStarted()
      throw err
    }
  }
  return stopStarted
}

/**
 * A part made when it starts, from what earlier parts made (a peer node, the organism on it): later parts read it
 * with get() once it has started. Declared up front, it stops in its place like any other part.
 */
export function startableOf<T> (name: string, make: () => Promise<T>, stop: (made: T) => Promise<void>): Startable & { get: () => T } {
  let made: { value: T } | null = null
  return {
    name,
    get: () => {
      if (made == null) throw new Error(`${name} is used before it started: declare it earlier in startAll's list`)
      return made.value
    },
    start: async () => { made = { value: await make() } },
    stop: async () => { if (made != null) await stop(made.value) }
  }
}
