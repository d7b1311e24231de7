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
