// The immune system, as this cell runs it: at once when a file under its export changes (inotify), and every 5 s
// besides, it checks that the genome it runs is still its commit's tree on disk (genome/integrity.ts), writes back what changed from the verified objects and restarts the functions that
// had loaded it; and it compares the digest each peer publishes with what that peer's commit must give.
import { logger } from '../core/log.ts'
import { coalesced } from '../core/coalesce.ts'
import type { Scheduler } from '../core/clock.ts'
import type { Startable } from '../core/lifecycle.ts'
import type { ExportWatch } from '../genome/index.ts'
import type { FunctionSpec } from '../genome/types.ts'
import { hasProcess } from '../supervisor/index.ts'
import type { Supervisor } from '../supervisor/index.ts'
import type { CellView } from '../state/index.ts'
import type { OrganismEvent } from '../organism/index.ts'
import type { BundleWatch } from './bundle-watch.ts'

const log = logger('immune')
export const CHECK_EVERY_MS = 5_000
/**
 * A peer whose files differ from its commit's this long is quarantined: its functions go to their replicas and it is
 * chosen as no replica. A cell shows a difference only once a heal failed (it heals before it tells), so this is
 * about its next attempt failing too: a cell that fails to heal twice.
 */
export const QUARANTINE_AFTER_MS = 5_000
const PEERS_EVERY_MS = 1_000
/** How soon after a change under the export the check runs (changes within it are looked at together). */
const WAKE_AFTER_MS = 200

/** The functions whose processes loaded one of these paths: those under its code dir, every one for a shared file. */
export function affectedFunctions (functions: readonly FunctionSpec[], paths: readonly string[]): string[] {
  const out = new Set<string>()
  for (const p of paths) {
    const owners = functions.filter((f) => p === f.code || p.startsWith(`${f.code.replace(/\/+$/, '')}/`))
    for (const f of owners.length > 0 ? owners : functions) out.add(f.name)
  }
  return functions.filter((f) => out.has(f.name)).map((f) => f.name)
}

/**
 * Peers whose published digest is not their commit's tree (pure): `expected` knows the tree of a commit this cell
 * has verified (null for one it has not: nothing to compare with). A peer that never published a digest (older
 * software) is not judged; one that did (`published`) and stops is: its files can no longer be vouched for.
 */
export function mismatchedPeers (cells: readonly CellView[], self: string, expected: (commit: string) => string | null, published: ReadonlySet<string> = new Set()): Map<string, string> {
  const out = new Map<string, string>()
  for (const c of cells) {
    const b = c.record?.body
    if (c.peer === self || c.liveness === 'dead' || b == null) continue
    if (b.tree == null) {
      if (published.has(c.peer)) out.set(c.peer, 'stopped publishing the digest of its files')
      continue
    }
    const want = expected(b.genome)
    if (want != null && want !== b.tree) out.set(c.peer, `runs files that are not its commit's (tree ${b.tree.slice(0, 12)}, commit ${b.genome.slice(0, 12)} has ${want.slice(0, 12)})`)
  }
  return out
}

export interface ImmuneOptions {
  /** The export of the commit this cell runs now (an update replaces it). */
  watch: () => ExportWatch
  functions: () => readonly FunctionSpec[]
  supervisor: Pick<Supervisor, 'get' | 'stopFunction' | 'startFunction'>
  cells: () => readonly CellView[]
  self: () => string
  nameOf: (peer: string) => string
  note: (e: Omit<OrganismEvent, 'at'>) => void
  clock: Scheduler
  /** The cell's own bundle, when it runs from one (bundle-watch.ts). */
  bundle?: BundleWatch | null
}

export interface Immune extends Startable {
  /** The tree id of what this cell runs, as last found on disk (its record carries it). */
  tree: () => string
  /** Peers whose files are not their commit's: no traffic of this cell goes to them while that lasts. */
  distrusted: (peer: string) => boolean
  /** Peers distrusted for QUARANTINE_AFTER_MS or more: their functions are taken over, no data goes to them. */
  quarantined: (peer: string) => boolean
  /** How long a peer has been quarantined (null: it is not), on this cell's clock. */
  quarantinedFor: (peer: string) => number | null
  /** Heals that failed in a row (the files could not be written back). */
  failures: () => number
}


export function createImmune (o: ImmuneOptions): Immune {
  // The tree found on disk, and for which commit: a commit just switched to (its export was checked by the checkout)
  // reports its own tree until the next look, never the last commit's.
  let tree = o.watch().expectedTree()
  let treeCommit = o.watch().commit
  let failures = 0
  let bad = new Map<string, string>()
  /** When each distrusted peer was first seen so, on this cell's clock; and those already said to be quarantined. */
  const since = new Map<string, number>()
  const said = new Set<string>()
  /** Peers seen publishing a digest: from then on, one without it counts against them. */
  const published = new Set<string>()
  const quarantined = (peer: string): boolean => bad.has(peer) && o.clock.now() - (since.get(peer) ?? Infinity) >= QUARANTINE_AFTER_MS
  const expected = (commit: string): string | null => commit === o.watch().commit ? o.watch().expectedTree() : null

  const heal = async (w: ExportWatch, drifted: readonly string[]): Promise<void> => {
    const shown = drifted.slice(0, 5).join(', ') + (drifted.length > 5 ? ` and ${drifted.length - 5} more` : '')
    if (failures === 0) o.note({ kind: 'tamper', text: `the genome on this cell's disk changed (${shown}): restoring it from the signed commit` })
    try {
      await w.restore(drifted)
    } catch (err) {
      log.error('could not restore the genome files', { err })
    }
    const after = await w.check()
    tree = after.tree
    treeCommit = w.commit
    if (after.drifted.length > 0) {
      failures++
      // Said twice, then only logged: a disk that stays read-only must not fill the map's events.
      if (failures <= 2) o.note({ kind: 'tamper', text: `could not restore ${after.drifted.slice(0, 5).join(', ')} (attempt ${failures}); peers send this cell no traffic while its files differ, and quarantine it after ${QUARANTINE_AFTER_MS / 1000} s` })
      else log.warn('still cannot restore the genome files', { failures, paths: after.drifted.slice(0, 5) })
      return
    }
    failures = 0
    // Restored directories are new inodes: their watches are set up again.
    if (watched === w) { unwatch(); watched = null; follow(w) }
    // A process that loaded the changed code runs it until it restarts.
    const restart = affectedFunctions(o.functions(), drifted).filter((fn) => hasProcess(o.supervisor.get(fn)?.state))
    for (const fn of restart) {
      await o.supervisor.stopFunction(fn)
      await o.supervisor.startFunction(fn)
    }
    o.note({ kind: 'heal', text: `restored ${drifted.length} genome file${drifted.length === 1 ? '' : 's'} from the signed commit${restart.length > 0 ? `; restarted ${restart.join(', ')}` : ''}` })
  }

  /** The export whose changes wake a check now (an update switches to another). */
  let watched: ExportWatch | null = null
  let unwatch = (): void => {}
  let soon: NodeJS.Timeout | null = null
  const follow = (w: ExportWatch): void => {
    if (w === watched) return
    unwatch()
    watched = w
    // A burst of writes (a function's setup filling node_modules beside its code) wakes one check, not thousands.
    unwatch = w.onChange(() => {
      if (soon != null) return
      soon = setTimeout(() => { soon = null; check() }, WAKE_AFTER_MS)
      soon.unref()
    })
  }

  const check = coalesced(async () => {
    // One export for the whole look: an update may switch to another meanwhile.
    const w = o.watch()
    follow(w)
    const r = await w.check()
    // What peers are told is what stayed after a heal: an honest cell that heals never shows them a difference.
    if (r.drifted.length > 0) await heal(w, r.drifted)
    else { tree = r.tree; treeCommit = w.commit }
    const b = await o.bundle?.check().catch((err: unknown) => { log.error('could not restore the cell bundle', { err }); return { changed: true, restored: false } })
    if (b?.changed === true) {
      o.note({ kind: 'tamper', text: `this cell's own software (${o.bundle?.path ?? 'its bundle'}) changed on disk` })
      if (b.restored) o.note({ kind: 'heal', text: 'restored the cell bundle from the bytes this cell started from' })
    }
  }, (err) => { log.warn('integrity check failed', { err }) })

  /** Peers' digests against their commits' trees: cheap (records in memory), so every second. */
  const comparePeers = (): void => {
    const cells = o.cells()
    for (const c of cells) if (c.record?.body.tree != null) published.add(c.peer)
    const next = mismatchedPeers(cells, o.self(), expected, published)
    for (const [peer, why] of next) if (!bad.has(peer)) o.note({ kind: 'tamper', text: `${o.nameOf(peer)} ${why}: no traffic goes to it from here` })
    for (const peer of bad.keys()) if (!next.has(peer)) { since.delete(peer); said.delete(peer); o.note({ kind: 'heal', text: `${o.nameOf(peer)} runs its commit's files again` }) }
    bad = next
    for (const peer of bad.keys()) {
      if (!since.has(peer)) since.set(peer, o.clock.now())
      if (quarantined(peer) && !said.has(peer)) { said.add(peer); o.note({ kind: 'tamper', text: `${o.nameOf(peer)} is quarantined: its files have not been its commit's for ${QUARANTINE_AFTER_MS / 1000} s; its functions go to their replicas` }) }
    }
  }

  let stops: Array<() => void> = []
  return {
    name: 'immune system',
    tree: () => treeCommit === o.watch().commit ? tree : o.watch().expectedTree(),
    distrusted: (peer) => bad.has(peer),
    quarantined,
    quarantinedFor: (peer) => quarantined(peer) ? o.clock.now() - (since.get(peer) as number) - QUARANTINE_AFTER_MS : null,
    failures: () => failures,
    start: async () => { check(); stops = [o.clock.every(CHECK_EVERY_MS, check), o.clock.every(PEERS_EVERY_MS, comparePeers)] },
    stop: async () => {
      for (const s of stops) s()
      stops = []
      unwatch(); unwatch = () => {}; watched = null
      if (soon != null) clearTimeout(soon)
      await check.idle()
    }
  }
}
