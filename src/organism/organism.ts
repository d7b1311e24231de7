// One cell's part in the organism: the shared state over a peer link, the placement plan, recent events, and
// the membership kept for the next start. Time and the link are ports: a simulator runs it on fake ones.
import { logger } from '../core/log.ts'
import type { Scheduler } from '../core/clock.ts'
import { createStateSync } from '../state/index.ts'
import type { StateEvent, Signer, Verify, StateSyncOptions } from '../state/index.ts'
import { placementPlan, shortId } from '../placement/index.ts'
import type { Plan, CellRef } from '../placement/index.ts'
import { saveSaved } from './membership-file.ts'
import type { SavedOrganism } from './membership-file.ts'
import { protocols } from './protocols.ts'
import { EventLog } from './events.ts'
import type { OrganismLink } from './link.ts'
import type { Organism, OrganismChange } from './types.ts'

export interface OrganismOptions {
  organism: string
  functions: readonly string[]
  link: OrganismLink
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
  // Named on every event: one record looked up, not every cell's view built.
  const nameOf = (id: string): string => sync.cellRecord(id)?.body.name ?? shortId(id)

  // One write at a time, each of the picture as it is when its turn comes; an unchanged picture is not rewritten.
  let saving = Promise.resolve()
  let lastSaved = ''
  const addrsOf = (id: string): string[] => sync.cells().find((c) => c.peer === id)?.record?.body.addrs.peer ?? []
  const persist = async (): Promise<void> => {
    const file = opts.membershipFile
    if (file == null) return
    saving = saving.then(async () => {
      const bootstrap = link.members().filter((id) => id !== link.peerId).flatMap((id) => addrsOf(id)).slice(0, 16)
      const next: SavedOrganism = { organism: opts.organism, admissions: link.admissions(), bootstrap }
      const text = JSON.stringify(next)
      if (text === lastSaved) return
      await saveSaved(file, next).then(() => { lastSaved = text }, (err) => log.warn('could not save membership', { err }))
    })
    await saving
  }
  await persist()
  const offMember = link.onMember(() => { void persist() })

  const computePlan = (): Plan => placementPlan({
    self: link.peerId,
    functions: opts.functions,
    placements: new Map(sync.placements().map((p) => [p.fn, p])),
    liveness: sync.liveness
  })
  let current = computePlan()
  const listeners = new Set<(c: OrganismChange) => void>()
  const refresh = (change: OrganismChange): void => {
    current = computePlan()
    for (const l of listeners) { try { l(change) } catch (err) { log.warn('plan listener failed', { err }) } }
  }

  // A founding cell owns every function; a restarted cell alone claims what nobody holds.
  if (opts.founding || link.members().length === 1) {
    const held = new Set(sync.placements().map((p) => p.fn))
    for (const fn of opts.functions) if (!held.has(fn)) sync.claimPlacement(fn)
  }

  const events = new EventLog(50, clock)
  const stopping = new AbortController()
  void (async () => {
    for await (const e of sync.changes(stopping.signal)) {
      events.note(describe(e, nameOf))
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
    placements: () => sync.placements(),
    placement: (fn) => sync.placements().find((p) => p.fn === fn),
    liveness: sync.liveness,
    cellRefs,
    nameOf,
    claim: (fn, claim) => { sync.claimPlacement(fn, claim); refresh({ type: 'claimed', fn }) },
    setOwnRecord: (body) => { sync.setOwnRecord({ ...body, at: clock.now() }) },
    events: () => events.list(),
    note: (e) => { events.note(e) },
    onChange: (l) => { listeners.add(l); return () => { listeners.delete(l) } },
    stats: () => sync.stats(),
    stop: async () => {
      stopReplan()
      offMember()
      stopping.abort()
      listeners.clear()
      await persist()
      await sync.stop()
    }
  }
}

function describe (e: StateEvent, name: (id: string) => string): { kind: 'join' | 'dead' | 'alive' | 'suspect' | 'move' | 'info', text: string } {
  switch (e.type) {
    case 'cell-joined': return { kind: 'join', text: `${name(e.peer)} joined` }
    case 'cell-dead': return { kind: 'dead', text: `${name(e.peer)} is dead` }
    case 'cell-suspect': return { kind: 'suspect', text: `${name(e.peer)} is suspected` }
    case 'cell-alive': return { kind: 'alive', text: `${name(e.peer)} is alive` }
    case 'placement-changed': return { kind: 'move', text: e.previous != null && e.previous !== e.owner ? `${e.fn} moved from ${name(e.previous)} to ${name(e.owner)} (epoch ${e.epoch})` : `${e.fn} is served by ${name(e.owner)} (epoch ${e.epoch})` }
    case 'placement-lost': return { kind: 'move', text: `${e.fn} is now served by ${name(e.winner)} (epoch ${e.epoch}); the copy here stops` }
    case 'record-rejected': return { kind: 'info', text: `rejected a ${e.verdict} record from ${name(e.from)}` }
  }
}
