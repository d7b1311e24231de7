// Pushes the organism's records to an existing primary DNS server (RFC 2136 + TSIG) whenever they change.
import { logger } from '../core/log.ts'
import { coalesced } from '../core/coalesce.ts'
import { realClock } from '../core/clock.ts'
import type { Scheduler } from '../core/clock.ts'
import type { Startable } from '../core/lifecycle.ts'
import { pushRecords, placementRecords } from '../dns/index.ts'
import type { ZoneView, TsigKey } from '../dns/index.ts'

const log = logger('dns-push')

export interface DnsPrimary { host: string, port: number, key: TsigKey }

/**
 * One push at a time; a change during a push is pushed right after it. Every cell given a primary pushes
 * what it sees: updates replace whole RRsets, so the same update from two cells is harmless.
 */
export function createDnsPusher (primary: DnsPrimary, view: () => ZoneView, clock: Scheduler = realClock, changes?: (listener: () => void) => () => void): Startable & { poke: () => void } {
  let previous: ReturnType<typeof placementRecords> = []
  let lastSent = ''
  const stopping = new AbortController()
  let stopTimer: (() => void) | null = null
  let unsubscribe: (() => void) | undefined
  const run = coalesced(async () => {
    if (stopping.signal.aborted) return
    const v = view()
    const records = placementRecords(v)
    const shape = JSON.stringify(records)
    if (shape === lastSent) return
    await pushRecords({ server: { host: primary.host, port: primary.port }, zone: v.zone, key: primary.key, records, previous, signal: stopping.signal })
    previous = records
    lastSent = shape
    log.info('pushed the organism\'s records to the primary', { primary: `${primary.host}:${primary.port}`, records: records.length, serial: v.serial })
  }, (err) => { if (!stopping.signal.aborted) log.warn('could not update the primary DNS server; will retry', { err }) })
  return {
    name: 'dns pusher',
    poke: () => { if (stopTimer != null) run() },
    start: async () => {
      // Changes arrive through poke(); the timer retries failures and catches anything missed.
      stopTimer = clock.every(5000, run)
      unsubscribe = changes?.(run)
      run()
    },
    // An update in flight is aborted and waited for: nothing of this cell talks to the primary after stop.
    stop: async () => {
      stopTimer?.()
      stopTimer = null
      unsubscribe?.()
      stopping.abort()
      await run.idle()
    }
  }
}
