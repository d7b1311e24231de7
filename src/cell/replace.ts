// Replacing a quarantined cell: once a peer has been quarantined for the genome's bound (`immune: replace_after`),
// one trusted member imprints a free pool host to take its place. Its functions went to their replicas when it was
// quarantined; the new cell gives the organism back the capacity and a home for replicas. Who acts and when is a pure
// choice; the loop around it is thin, and what it replaced is kept in the state dir so a restart does not do it twice.
import { readFile, writeFile, rename } from 'node:fs/promises'
import { logger } from '../core/log.ts'
import type { Scheduler } from '../core/clock.ts'
import type { Startable } from '../core/lifecycle.ts'
import type { OrganismEvent } from '../organism/index.ts'

const log = logger('replace')
const EVERY_MS = 1_000
/** After a replacement failed (an unreachable host, a full disk there), the next try waits this long. */
export const RETRY_AFTER_MS = 60_000

export interface ReplaceView {
  self: string
  /** This cell's own files are its commit's: a cell that cannot heal itself replaces no one. */
  selfTrusted: boolean
  /** Every cell this one knows, itself included (as the organism lists them). */
  cells: ReadonlyArray<{ peer: string, liveness: string }>
  /** How long a peer has been quarantined, on this cell's clock (null: it is not). */
  quarantinedFor: (peer: string) => number | null
  /** Peers this cell sends no traffic to (their files differ): they replace no one either. */
  distrusted: (peer: string) => boolean
  afterMs: number | null
  /** Peers replaced already, or being replaced, by this cell. */
  done: ReadonlySet<string>
}

export type ReplaceChoice =
  | { kind: 'none' }
  | { kind: 'wait', peer: string, leftMs: number }
  | { kind: 'elsewhere', peer: string, by: string }
  | { kind: 'replace', peer: string, forMs: number }

/**
 * The quarantined peer to replace now, if this cell is the one to do it: the trusted live member with the lowest id
 * acts (every member computes the same from the same records; two that disagree for a moment imprint two hosts at
 * worst, never one twice, as imprint claims a host first). The longest quarantined goes first, one at a time.
 */
export function replacementFor (v: ReplaceView): ReplaceChoice {
  if (v.afterMs == null) return { kind: 'none' }
  const quarantined = v.cells
    .filter((c) => c.peer !== v.self && c.liveness !== 'dead' && !v.done.has(c.peer))
    .map((c) => ({ peer: c.peer, forMs: v.quarantinedFor(c.peer) }))
    .filter((q): q is { peer: string, forMs: number } => q.forMs != null)
    .sort((a, b) => b.forMs - a.forMs || (a.peer < b.peer ? -1 : 1))
  const first = quarantined[0]
  if (first == null) return { kind: 'none' }
  if (first.forMs < v.afterMs) return { kind: 'wait', peer: first.peer, leftMs: v.afterMs - first.forMs }
  // A quarantined peer is distrusted too: it is never among those who act.
  const by = v.cells
    .filter((c) => c.peer === v.self ? v.selfTrusted : c.liveness === 'alive' && !v.distrusted(c.peer))
    .map((c) => c.peer)
    .sort()[0]
  if (by == null) return { kind: 'none' }
  return by === v.self ? { kind: 'replace', peer: first.peer, forMs: first.forMs } : { kind: 'elsewhere', peer: first.peer, by }
}

export interface ReplacerOptions {
  /** Where what was replaced is kept (`<state>/replaced.json`). */
  file: string
  clock: Scheduler
  view: () => Omit<ReplaceView, 'done'>
  nameOf: (peer: string) => string
  note: (e: Omit<OrganismEvent, 'at'>) => void
  /** Imprints a free pool host; resolves with the new cell's name, or null when the pool has no free host. */
  imprint: (peer: string, reason: string, signal: AbortSignal) => Promise<string | null>
}

interface Replaced { peer: string, by: string, at: number }

export function createReplacer (o: ReplacerOptions): Startable {
  let done: Replaced[] = []
  const failedAt = new Map<string, number>()
  const saidNoHost = new Set<string>()
  let busy = false
  // A cell that stops calls off an imprint under way (imprint rolls the host back) rather than wait minutes for it.
  const stopping = new AbortController()
  const save = async (): Promise<void> => {
    await writeFile(`${o.file}.tmp`, JSON.stringify(done, null, 2) + '\n', { mode: 0o600 })
    await rename(`${o.file}.tmp`, o.file)
  }
  const tick = async (): Promise<void> => {
    if (busy) return
    const now = o.clock.now()
    const skip = new Set([...done.map((d) => d.peer), ...[...failedAt].filter(([, at]) => now - at < RETRY_AFTER_MS).map(([p]) => p)])
    const choice = replacementFor({ ...o.view(), done: skip })
    if (choice.kind !== 'replace') return
    const name = o.nameOf(choice.peer)
    const reason = `${name} has been quarantined for ${Math.round(choice.forMs / 1000)} s`
    busy = true
    try {
      const born = await o.imprint(choice.peer, reason, stopping.signal)
      if (born == null) {
        if (!saidNoHost.has(choice.peer)) o.note({ kind: 'info', text: `${reason}, but the host pool has no free host to take its place (add one with \`cell hosts add\`)` })
        saidNoHost.add(choice.peer)
        failedAt.set(choice.peer, now)
        return
      }
      done = [...done, { peer: choice.peer, by: born, at: Date.now() }]
      await save()
      o.note({ kind: 'join', text: `${born} took the place of ${name} (${reason})` })
    } catch (err) {
      if (stopping.signal.aborted) return
      failedAt.set(choice.peer, now)
      log.warn('could not replace a quarantined cell; will try again', { peer: choice.peer, err })
      o.note({ kind: 'info', text: `could not replace ${name}: ${err instanceof Error ? err.message : String(err)}; trying again in ${RETRY_AFTER_MS / 1000} s` })
    } finally {
      busy = false
    }
  }
  let stop: (() => void) | null = null
  let running: Promise<void> = Promise.resolve()
  return {
    name: 'replacer of quarantined cells',
    start: async () => {
      done = await readFile(o.file, 'utf8').then((t) => JSON.parse(t) as Replaced[], () => [])
      stop = o.clock.every(EVERY_MS, () => { running = tick().catch((err: unknown) => { log.warn('replace tick failed', { err }) }) })
    },
    stop: async () => { stop?.(); stop = null; stopping.abort(); await running }
  }
}
