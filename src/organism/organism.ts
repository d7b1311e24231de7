// One cell's part in the organism: the shared state over a peer link, the placement plan, recent events, and
// the membership kept for the next start. Time and the link are ports: a simulator runs it on fake ones.
import { logger } from '../core/log.ts'
import type { Scheduler } from '../core/clock.ts'
import { createStateSync } from '../state/index.ts'
import type { StateEvent, Signer, Verify, StateSyncOptions } from '../state/index.ts'
import { placementPlan, shortId } from '../placement/index.ts'
import type { Plan, CellRef, SpreadFunction } from '../placement/index.ts'
import type { Ownership, OwnershipView } from '../ownership/index.ts'
import type { CellView, PlacementView } from '../state/index.ts'
import { saveSaved } from './membership-file.ts'
import type { SavedOrganism } from './membership-file.ts'
import { protocols } from './protocols.ts'
import { EventLog } from './events.ts'
import type { OrganismLink } from './link.ts'
import type { Organism, OrganismChange } from './types.ts'

export interface OrganismOptions {
  organism: string
  /** Functions with one owner each (in the ownership store). */
  functions: readonly string[]
  /** Functions that run on several cells, and how many: placed by every cell alike (placement/instances.ts). */
  spread?: (cells: readonly CellView[]) => readonly SpreadFunction[]
  /** Cells whose files are not their commit's (the immune system): no instance is placed or served there. */
  distrusted?: (peer: string) => boolean
  link: OrganismLink
  /** Who owns what: this cell's view of the ownership store. */
  ownership: OwnershipView
  signer: Signer
  verify: Verify
  clock: Scheduler
  /** This cell founded the organism now: it owns every function. */
  founding: boolean
  /** Where the membership is saved for the next start (none in a simulation). */
  membershipFile?: string
  /** State sync tuning (the simulator shortens nothing; tests may). */
  sync?: StateSyncOptions
  seed?: number
}

const log = logger('organism')
/** How long a finished move stays on the live map as an arrow. */
const MOVES_KEPT_MS = 60_000

export async function startOrganism (opts: OrganismOptions): Promise<Organism> {
  const { link, clock } = opts
  const names = protocols(opts.organism)
  const sync = createStateSync({
    transport: { self: link.peerId, members: link.members, publish: link.publish, subscribe: link.subscribe, handle: link.handle, request: link.request, send: link.send, listen: link.listen },
    signer: opts.signer,
    verify: opts.verify,
    clock,
    options: { protocol: names.state, channelProtocol: names.stateChannel, ...opts.sync },
    seed: opts.seed
  })
  await sync.start()
  const cellRefs = (): CellRef[] => sync.cells().map((c) => ({ peer: c.peer, liveness: c.liveness, name: c.record?.body.name }))
  // Named on every event: one record looked up, not every cell's view built. A cell that is no member any more keeps
  // its name in what is said of it afterwards (its takeover, say), though its record is gone.
  const departed = new Map<string, string>()
  const nameOf = (id: string): string => sync.cellRecord(id)?.body.name ?? departed.get(id) ?? shortId(id)

  // One write at a time, each of the picture as it is when its turn comes; an unchanged picture is not rewritten.
  let saving = Promise.resolve()
  let lastSaved = ''
  const addrsOf = (id: string): string[] => sync.cells().find((c) => c.peer === id)?.record?.body.addrs.peer ?? []
  const persist = async (): Promise<void> => {
    const file = opts.membershipFile
    if (file == null) return
    saving = saving.then(async () => {
      const bootstrap = link.members().filter((id) => id !== link.peerId).flatMap((id) => addrsOf(id)).slice(0, 16)
      const next: SavedOrganism = { organism: opts.organism, admissions: link.admissions(), expulsions: link.expulsions?.() ?? [], bootstrap }
      const text = JSON.stringify(next)
      if (text === lastSaved) return
      await saveSaved(file, next).then(() => { lastSaved = text }, (err) => log.warn('could not save membership', { err }))
    })
    await saving
  }
  await persist()
  const offMember = link.onMember(() => { void persist() })

  const placements = (): PlacementView[] => opts.ownership.records().map(asPlacement).sort((a, b) => a.fn.localeCompare(b.fn))
  const trusted = (cell: string): boolean => opts.distrusted?.(cell) !== true
  const serves = (cell: string, fn: string): boolean => trusted(cell) && sync.cellRecord(cell)?.body.functions.includes(fn) === true
  const computePlan = (): Plan => placementPlan({
    self: link.peerId,
    functions: opts.functions,
    placements: new Map(placements().map((p) => [p.fn, p])),
    liveness: sync.liveness,
    spread: opts.spread?.(sync.cells()) ?? [],
    cells: [...new Set([link.peerId, ...sync.cells().filter((c) => c.liveness !== 'dead' && trusted(c.peer)).map((c) => c.peer)])],
    serves
  })
  let current = computePlan()
  const listeners = new Set<(c: OrganismChange) => void>()
  const refresh = (change: OrganismChange): void => {
    current = computePlan()
    for (const l of listeners) { try { l(change) } catch (err) { log.warn('plan listener failed', { err }) } }
  }

  const events = new EventLog(50, clock)
  // Ownership changes are news on the map: who serves what now, compared with what this cell saw last.
  let seen = new Map(opts.ownership.records().map((r) => [r.fn, r]))
  let moves: Array<{ fn: string, from: string, to: string, at: number }> = []
  const offOwnership = opts.ownership.onChange(() => {
    const now = new Map(opts.ownership.records().map((r) => [r.fn, r]))
    for (const [fn, r] of now) {
      const before = seen.get(fn)
      if (before != null && before.owner === r.owner && before.epoch === r.epoch && before.state === r.state) continue
      if (before != null && before.owner !== r.owner) moves = [...moves.filter((m) => clock.now() - m.at < MOVES_KEPT_MS), { fn, from: before.owner, to: r.owner, at: clock.now() }].slice(-100)
      events.note({ kind: 'move', text: before != null && before.owner !== r.owner ? `${fn} moved from ${nameOf(before.owner)} to ${nameOf(r.owner)} (epoch ${r.epoch})` : r.state === 'moving' ? `${fn} is moving to ${nameOf(r.to ?? '')}` : `${fn} is served by ${nameOf(r.owner)} (epoch ${r.epoch})` })
    }
    seen = now
    refresh({ type: 'ownership' })
  })
  // A founding cell owns every function; a cell alone takes what nobody holds (the store refuses a second founder).
  if (opts.founding || link.members().length === 1) {
    const held = new Set(opts.ownership.records().map((r) => r.fn))
    for (const fn of opts.functions) {
      if (!held.has(fn)) await opts.ownership.apply(fn, { kind: 'found', by: link.peerId }).catch((err: unknown) => { log.warn('could not take a function nobody owns', { fn, err }) })
    }
  }

  const stopping = new AbortController()
  void (async () => {
    for await (const e of sync.changes(stopping.signal)) {
      if (e.type === 'cell-removed' && e.name != null) { if (departed.size >= 1000) departed.clear(); departed.set(e.peer, e.name) }
      const said = describe(e, nameOf)
      if (said != null) events.note(said)
      // A member that joined or came back (a restarted one listens on new addresses): where to find it next start.
      if (e.type === 'cell-joined' || e.type === 'cell-alive') void persist()
      refresh({ type: 'state', event: e })
    }
  })().catch(() => {})
  // Liveness also changes without an event reaching us first (a timeout here); re-plan now and then.
  const stopReplan = clock.every(1000, () => { refresh({ type: 'replanned' }) })
  refresh({ type: 'replanned' })

  return {
    self: link.peerId,
    plan: () => current,
    cells: () => sync.cells(),
    placements,
    placement: (fn) => { const r = opts.ownership.records().find((x) => x.fn === fn); return r == null ? undefined : asPlacement(r) },
    read: async (fn) => { const r = await opts.ownership.read(fn); return r == null ? undefined : asPlacement(r) },
    liveness: sync.liveness,
    cellRefs,
    nameOf,
    change: async (fn, req) => asPlacement(await opts.ownership.apply(fn, req)),
    setOwnRecord: (body) => { sync.setOwnRecord({ ...body, at: clock.now() }) },
    events: () => events.list(),
    moves: () => moves.filter((m) => clock.now() - m.at < MOVES_KEPT_MS),
    note: (e) => { events.note(e) },
    onChange: (l) => { listeners.add(l); return () => { listeners.delete(l) } },
    stats: () => sync.stats(),
    stop: async () => {
      stopReplan()
      offMember()
      offOwnership()
      stopping.abort()
      listeners.clear()
      await persist()
      await sync.stop()
    }
  }
}

/** A store record in the shape the plan, views and status read; its version is its epoch. */
function asPlacement (r: Ownership): PlacementView {
  return { fn: r.fn, owner: r.owner, epoch: r.epoch, state: r.state, ...r.to != null ? { to: r.to } : {}, ...r.replica != null ? { replica: r.replica } : {}, version: r.epoch }
}

function describe (e: StateEvent, name: (id: string) => string): { kind: 'join' | 'dead' | 'alive' | 'suspect' | 'info', text: string } | null {
  switch (e.type) {
    case 'cell-joined': return { kind: 'join', text: `${name(e.peer)} joined` }
    case 'cell-removed': return { kind: 'dead', text: `${e.name ?? name(e.peer)} is no longer a member` }
    case 'cell-dead': return { kind: 'dead', text: `${name(e.peer)} is dead` }
    case 'cell-suspect': return { kind: 'suspect', text: `${name(e.peer)} is suspected` }
    case 'cell-alive': return { kind: 'alive', text: `${name(e.peer)} is alive` }
    // Placements are the ownership store's, not gossip's: a placement record a member gossips says nothing true, and
    // the map's move events come from the store view instead.
    case 'placement-changed': case 'placement-lost': return null
    case 'record-rejected': return { kind: 'info', text: `rejected a ${e.verdict} record from ${name(e.from)}` }
  }
}
