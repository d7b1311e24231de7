// `cell start --follow`: the cell watches its genome repo's ref and rolls out a new signed commit pushed there by
// itself (update.ts), so that a `git push` is the only step. Every following cell sees the push; so that one rollout
// runs, not one per cell, they wait in turn (the live members ordered by id, one turn each) and a cell whose turn
// comes skips a commit that a rollout already reached (a member's record runs it), that it took, or that is bad.
import { logger } from '../core/log.ts'
import type { Startable } from '../core/lifecycle.ts'
import type { Scheduler } from '../core/clock.ts'
import { git } from '../genome/git.ts'
import { readPin } from '../genome/index.ts'
import type { Organism } from '../organism/index.ts'

const log = logger('update')
/** How often the repo's ref is read. */
export const FOLLOW_EVERY_MS = 10_000
/** How long each cell before this one (by id) is given to start the rollout. */
export const TURN_MS = 30_000

/** How long this cell waits before it starts a rollout itself (pure): its place among the live members, by id. */
export function turnOf (self: string, live: readonly string[]): number {
  return [...new Set([...live, self])].sort().indexOf(self)
}

export interface FollowOptions {
  genomeRepo: string
  ref: string
  pinFile: string
  clock: Scheduler
  organism: () => Pick<Organism, 'self' | 'cells' | 'note'>
  running: () => string
  offer: (ref: string) => Promise<unknown>
}

export function createFollower (o: FollowOptions): Startable {
  const seen = new Map<string, number>()
  let busy = false
  let stop: (() => void) | null = null
  const resolveRef = async (): Promise<string | null> => {
    // Only a ref is read from the repo here: its objects are copied and verified by the update itself.
    const r = await git(o.genomeRepo, ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null', 'rev-parse', '--verify', '--quiet', '--end-of-options', `${o.ref}^{commit}`])
    return r.code === 0 ? r.stdout.toString('utf8').trim() : null
  }
  const tick = async (): Promise<void> => {
    if (busy) return
    busy = true
    try {
      const commit = await resolveRef()
      if (commit == null || commit === o.running()) return
      const org = o.organism()
      const now = o.clock.now()
      const first = seen.get(commit) ?? now
      seen.set(commit, first)
      if (seen.size > 100) seen.delete(seen.keys().next().value as string)
      const live = org.cells().filter((c) => c.liveness !== 'dead').map((c) => c.peer)
      if (now - first < turnOf(org.self, live) * TURN_MS) return
      if (org.cells().some((c) => c.record?.body.genome === commit)) return
      const pin = await readPin(o.pinFile)
      if (pin?.bad?.includes(commit) === true) return
      org.note({ kind: 'info', text: `the genome repo's ${o.ref} is at ${commit.slice(0, 12)}: rolling it out` })
      await o.offer(commit).catch((err: unknown) => {
        org.note({ kind: 'info', text: `did not roll out ${commit.slice(0, 12)}: ${(err as Error).message}` })
        log.warn('follow: rollout refused', { commit, err })
      })
    } finally {
      busy = false
    }
  }
  return {
    name: 'follower',
    start: async () => { stop = o.clock.every(FOLLOW_EVERY_MS, () => { void tick().catch((err: unknown) => { log.warn('follow failed', { err }) }) }) },
    stop: async () => { stop?.(); stop = null }
  }
}
