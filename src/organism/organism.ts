// One cell's part in the organism: its peer node, the shared state, the placement plan, and the links to other cells.
import { join } from 'node:path'
import { logger } from '../core/log.ts'
import { realClock } from '../core/clock.ts'
import { createPeerNode, loadOrCreateIdentity } from '../peers/index.ts'
import type { PeerNode } from '../peers/index.ts'
import { createStateSync } from '../state/index.ts'
import type { StateSync, StateEvent, CellView } from '../state/index.ts'
import { placementPlan } from '../placement/index.ts'
import type { Plan, Liveness } from '../placement/index.ts'
import { loadSaved, saveSaved } from './membership-file.ts'
import type { SavedOrganism } from './membership-file.ts'
import { protocols } from './protocols.ts'
import { stateSigner, stateVerify } from './identity.ts'
import { organismError } from './errors.ts'
import { EventLog } from './events.ts'
import { serveLink } from '../router/index.ts'

export interface OrganismOptions {
  stateDir: string
  organism: string
  functions: readonly string[]
  /** libp2p listen multiaddrs. */
  listen: string[]
  join?: { address?: string, token: string }
  /** Local router port: streams from other cells for our functions go there. */
  routerPort: () => number
  /** The address the router listens on (default all: reached on 127.0.0.1). */
  routerHost?: string
}

export interface Organism {
  readonly self: string
  readonly node: PeerNode
  readonly sync: StateSync
  readonly events: EventLog
  plan: () => Plan
  cells: () => CellView[]
  liveness: (cell: string) => Liveness
  /** Called whenever the plan may have changed (placements, liveness). */
  onChange: (listener: () => void) => void
  stop: () => Promise<void>
}

const log = logger('organism')

export async function startOrganism (opts: OrganismOptions): Promise<Organism> {
  const savedFile = join(opts.stateDir, 'organism.json')
  const saved = await loadSaved(savedFile)
  if (opts.join != null && saved != null && saved.organism === opts.organism && saved.admissions.length > 0) {
    throw organismError('ORGANISM_JOIN_CONFLICT', `${opts.stateDir} already holds a member of organism ${saved.organism}`)
  }
  const identityFile = join(opts.stateDir, 'peer.key')
  const identity = await loadOrCreateIdentity(identityFile)
  const founding = opts.join == null && (saved == null || saved.admissions.length === 0)
  const node = await createPeerNode({
    identityFile,
    organism: opts.organism,
    listen: opts.listen,
    found: founding,
    admissions: founding ? undefined : saved?.admissions,
    bootstrap: saved?.bootstrap,
    timeoutMs: 30_000
  })
  const names = protocols(opts.organism)
  // One write at a time, each of the picture as it is when its turn comes; an unchanged picture is not rewritten.
  let saving = Promise.resolve()
  let lastSaved = ''
  const persist = async (): Promise<void> => {
    saving = saving.then(async () => {
      const bootstrap = node.members().filter((id) => id !== node.peerId).flatMap((id) => addrsOf(id)).slice(0, 16)
      const next: SavedOrganism = { organism: opts.organism, admissions: node.admissions(), bootstrap }
      const text = JSON.stringify(next)
      if (text === lastSaved) return
      await saveSaved(savedFile, next).then(() => { lastSaved = text }, (err) => log.warn('could not save membership', { err }))
    })
    await saving
  }
  if (opts.join != null) {
    await node.join(opts.join.address, opts.join.token).catch(async (err) => { await node.stop(); throw err })
    log.info('joined the organism', { members: node.members().length })
  }
  const sync = createStateSync({
    transport: { self: node.peerId, members: node.members, publish: node.publish, subscribe: node.subscribe, handle: node.handle, request: node.request, send: node.send, listen: node.listen },
    signer: stateSigner(node.peerId, identity.privateKey),
    verify: stateVerify(),
    clock: realClock,
    options: { protocol: names.state, channelProtocol: names.stateChannel }
  })
  await sync.start()
  // Where other members can be dialled, from their own records: kept for the next start.
  const addrsOf = (id: string): string[] => sync.cells().find((c) => c.peer === id)?.record?.body.addrs.peer ?? []
  await persist()
  node.onMember(() => { void persist() })

  const liveness = (cell: string): Liveness | 'unknown' => {
    if (cell === node.peerId) return 'alive'
    return sync.cells().find((c) => c.peer === cell)?.liveness ?? 'unknown'
  }
  const computePlan = (): Plan => placementPlan({
    self: node.peerId,
    functions: opts.functions,
    placements: new Map(sync.placements().map((p) => [p.fn, { function: p.fn, owner: p.owner, epoch: p.epoch, state: p.state }])),
    liveness
  })
  let current = computePlan()
  const listeners: Array<() => void> = []
  const refresh = (): void => {
    current = computePlan()
    for (const l of listeners) { try { l() } catch (err) { log.warn('plan listener failed', { err }) } }
  }

  // A founding cell owns every function; a restarted cell alone claims what nobody holds.
  if (founding || node.members().length === 1) {
    const held = new Set(sync.placements().map((p) => p.fn))
    for (const fn of opts.functions) if (!held.has(fn)) sync.claimPlacement(fn)
  }

  const events = new EventLog(50)
  const stopping = new AbortController()
  void (async () => {
    for await (const e of sync.changes(stopping.signal)) {
      events.note(describe(e, (id) => nameOf(sync, id)))
      // A member that joined or came back (a restarted one listens on new addresses): where to find it next start.
      if (e.type === 'cell-joined' || e.type === 'cell-alive') void persist()
      refresh()
    }
  })().catch(() => {})
  // Liveness also changes without an event reaching us first (a timeout here); re-plan now and then.
  const replan = setInterval(refresh, 1000)
  replan.unref()
  refresh()

  // Requests forwarded by other cells enter our own router, which serves them from local functions only.
  await node.handleStream(names.http, (stream) => { serveLink(stream, opts.routerPort(), opts.routerHost) })

  return {
    self: node.peerId,
    node,
    sync,
    events,
    plan: () => current,
    cells: () => sync.cells(),
    liveness: (cell) => { const l = liveness(cell); return l === 'unknown' ? 'unknown' : l },
    onChange: (l) => { listeners.push(l) },
    stop: async () => {
      clearInterval(replan)
      stopping.abort()
      await persist()
      await sync.stop()
      await node.stop()
    }
  }
}

export function nameOf (sync: StateSync, id: string): string {
  return sync.cells().find((c) => c.peer === id)?.record?.body.name ?? id.slice(-8)
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
