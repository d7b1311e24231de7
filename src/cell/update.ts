// Signed updates as this cell takes part in them: `cell update` verifies a commit of its genome repo and offers it to
// every live member; a member fetches the objects from the cell that offered it (a git bundle over the member link),
// verifies the commit itself (signatures, descends from the commit it runs, signers trusted along the way), and
// switches: each function's next start uses the new commit, and its functions restart one at a time (the router
// holds their requests meanwhile).
import { logger } from '../core/log.ts'
import type { Startable } from '../core/lifecycle.ts'
import { isOrganismError } from '../core/errors.ts'
import { checkoutGenome } from '../genome/index.ts'
import type { Checkout, Genome } from '../genome/index.ts'
import type { Supervisor } from '../supervisor/index.ts'
import type { Organism } from '../organism/index.ts'
import { fetchBundle, inPlaceProblem, serveBundle, updateError } from '../update/index.ts'
import type { CellPaths } from './paths.ts'
import type { Duplex } from 'node:stream'

const log = logger('update')
const encode = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v))
const decode = <T>(b: Uint8Array): T => JSON.parse(new TextDecoder().decode(b)) as T
/** States in which a function has a process (or is making one) that runs the old commit's code. */
const ACTIVE = new Set(['setup', 'starting', 'running', 'unhealthy', 'backoff', 'crash-loop'])

export interface CellVerdict { cell: string, verdict: 'updating' | 'runs it already' | 'refused' | 'unreachable', code?: string, why?: string }
export interface UpdateReport { commit: string, cells: CellVerdict[] }

interface Link {
  readonly peerId: string
  handle: (protocol: string, handler: (body: Uint8Array, from: string) => Promise<Uint8Array>) => Promise<void>
  request: (peer: string, protocol: string, body: Uint8Array) => Promise<Uint8Array>
  handleStream: (protocol: string, handler: (stream: Duplex, from: string) => void) => Promise<void>
  openStream: (peer: string, protocol: string) => Promise<Duplex>
}

export interface UpdaterOptions {
  paths: CellPaths
  genomeRepo: string
  protocols: { update: string, genomeBundle: string }
  link: () => Link
  organism: () => Pick<Organism, 'cellRefs' | 'nameOf' | 'note'>
  supervisor: Pick<Supervisor, 'status' | 'retarget' | 'stopFunction' | 'startFunction'>
  /** What this cell runs now. */
  running: () => { commit: string, genome: Genome }
  /** The cell takes the new commit as its own (its record, status and immune system), before functions restart. */
  adopt: (c: Checkout) => Promise<void>
}

export interface Updater extends Startable {
  /** Verifies ref of this cell's genome repo, switches to it and offers it to every live member. */
  offer: (ref: string) => Promise<UpdateReport>
}

export function createUpdater (o: UpdaterOptions): Updater {
  const mirrorOf = (): string => `${o.paths.checkouts}/objects.git`
  let switching = Promise.resolve()

  /** Switches to a verified checkout; refused (UPDATE_NEEDS_RESTART) when it cannot be taken in place. */
  const accept = (c: Checkout): CellVerdict['verdict'] => {
    const now = o.running()
    if (c.commit === now.commit) return 'runs it already'
    const problem = inPlaceProblem(now.genome, c.genome)
    if (problem != null) throw updateError('UPDATE_NEEDS_RESTART', `commit ${c.commit.slice(0, 12)} cannot be switched to in place: ${problem}`, { details: { commit: c.commit } })
    switching = switching.then(async () => { await apply(c) }, () => {})
    return 'updating'
  }

  const apply = async (c: Checkout): Promise<void> => {
    const org = o.organism()
    o.supervisor.retarget(c.genome.functions, c.commit, c.dir)
    await o.adopt(c)
    const active = o.supervisor.status().filter((s) => ACTIVE.has(s.state)).map((s) => s.name)
    org.note({ kind: 'info', text: `updating to commit ${c.commit.slice(0, 12)}: restarting ${active.length} function${active.length === 1 ? '' : 's'} one at a time` })
    const failed: string[] = []
    for (const fn of active) {
      await o.supervisor.stopFunction(fn)
      await o.supervisor.startFunction(fn)
      if (o.supervisor.status().find((s) => s.name === fn)?.state !== 'running') failed.push(fn)
    }
    org.note({ kind: failed.length > 0 ? 'restart' : 'info', text: `runs commit ${c.commit.slice(0, 12)}${failed.length > 0 ? `; not healthy on it: ${failed.join(', ')}` : ''}` })
  }

  const refusal = (err: unknown): CellVerdict => ({ cell: '', verdict: 'refused', code: isOrganismError(err) ? err.code : undefined, why: (err as Error).message })

  return {
    name: 'updater',
    start: async () => {
      const link = o.link()
      await link.handleStream(o.protocols.genomeBundle, (stream) => {
        void serveBundle(stream, mirrorOf(), o.paths.checkouts).catch((err: unknown) => { log.warn('could not send a genome bundle', { err }); stream.destroy() })
      })
      await link.handle(o.protocols.update, async (body, from) => {
        const { commit } = decode<{ commit?: unknown }>(body)
        try {
          if (typeof commit !== 'string') throw updateError('UPDATE_BAD_OFFER', 'the offer names no commit')
          if (commit === o.running().commit) return encode({ verdict: 'runs it already' })
          const c = await fetchBundle(async () => await link.openStream(from, o.protocols.genomeBundle), commit, o.paths.checkouts,
            async (repo) => await checkoutGenome(repo, commit, o.paths.checkouts, { pinFile: o.paths.genomePin }))
          return encode({ verdict: accept(c) })
        } catch (err) {
          const v = refusal(err)
          o.organism().note({ kind: 'info', text: `refused an update offered by ${o.organism().nameOf(from)}: ${v.why ?? ''}` })
          return encode(v)
        }
      })
    },
    stop: async () => { await switching },
    offer: async (ref) => {
      const c = await checkoutGenome(o.genomeRepo, ref, o.paths.checkouts, { pinFile: o.paths.genomePin })
      const link = o.link()
      const org = o.organism()
      const own: CellVerdict = { cell: org.nameOf(link.peerId), verdict: accept(c) }
      const peers = org.cellRefs().filter((r) => r.peer !== link.peerId && r.liveness !== 'dead')
      const theirs = await Promise.all(peers.map(async (r): Promise<CellVerdict> => {
        try {
          const v = decode<Omit<CellVerdict, 'cell'>>(await link.request(r.peer, o.protocols.update, encode({ commit: c.commit })))
          return { ...v, cell: org.nameOf(r.peer) }
        } catch (err) {
          return { cell: org.nameOf(r.peer), verdict: 'unreachable', why: (err as Error).message }
        }
      }))
      return { commit: c.commit, cells: [own, ...theirs] }
    }
  }
}
