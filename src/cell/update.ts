// Signed updates as this cell takes part in them. `cell update` makes this cell the update's canary and its
// coordinator: it verifies a commit of its genome repo, takes it (switch.ts: trial, switch, bake, gate), then offers
// it to the other live members in waves; each member fetches the objects from this cell (a git bundle over the member
// link), verifies the commit itself (signatures, descends from what it runs, signers trusted along the way) and takes
// it the same way. A cell that refuses or reverts it stops the rollout, and every cell that took it goes back.
import { encodeJson as encode, decodeJson as decode } from '../core/json-bytes.ts'
import { logger } from '../core/log.ts'
import type { Startable } from '../core/lifecycle.ts'
import { isOrganismError } from '../core/errors.ts'
import { checkoutGenome, DEFAULT_UPDATE } from '../genome/index.ts'
import type { Checkout } from '../genome/index.ts'
import type { Organism } from '../organism/index.ts'
import { fetchBundle, inPlaceProblem, planWaves, serveBundle, updateError } from '../update/index.ts'
import type { CellPaths } from './paths.ts'
import type { Duplex } from 'node:stream'
import { finished } from './switch.ts'
import type { LocalSwitch, Progress } from './switch.ts'

const log = logger('update')
/** How long a coordinator waits for one wave (trials, restarts, bake) before it calls the update off. */
const WAVE_LIMIT_MS = 10 * 60_000
const POLL_MS = 500

export interface CellVerdict { cell: string, wave: number, phase: Progress['phase'] | 'unreachable' | 'not offered', code?: string, why?: string, figures?: Progress['figures'] }
export interface UpdateReport { commit: string, outcome: 'done' | 'reverted', cells: CellVerdict[] }

type Message = { kind: 'offer', commit: string } | { kind: 'progress', commit: string } | { kind: 'revert', commit: string, why: string }

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
  organism: () => Pick<Organism, 'cellRefs' | 'cells' | 'nameOf' | 'note'>
  local: LocalSwitch
  running: () => Checkout
  sleep?: (ms: number) => Promise<void>
}

export interface Updater extends Startable {
  /** Verifies ref of this cell's genome repo and rolls it out: this cell first, then the others in waves. */
  offer: (ref: string) => Promise<UpdateReport>
}

export function createUpdater (o: UpdaterOptions): Updater {
  const sleep = o.sleep ?? (async (ms: number) => { await new Promise((resolve) => setTimeout(resolve, ms)) })
  const short = (c: string): string => c.slice(0, 12)
  const refused = (err: unknown): Pick<CellVerdict, 'phase' | 'code' | 'why'> => ({ phase: 'refused', code: isOrganismError(err) ? err.code : undefined, why: (err as Error).message })

  /** Starts taking a verified checkout; refused (UPDATE_NEEDS_RESTART) when it cannot be switched in place. */
  const take = (c: Checkout): void => {
    const problem = inPlaceProblem(o.running().genome, c.genome)
    if (problem != null) throw updateError('UPDATE_NEEDS_RESTART', `commit ${short(c.commit)} cannot be switched to in place: ${problem}`, { details: { commit: c.commit } })
    o.local.take(c, c.genome.update ?? DEFAULT_UPDATE)
  }

  const onMessage = async (m: Message, from: string): Promise<unknown> => {
    if (m.kind === 'progress') { const p = o.local.progress(); return p?.commit === m.commit ? p : null }
    if (m.kind === 'revert') { void o.local.revert(m.commit, `${m.why} (on ${o.organism().nameOf(from)})`); return { ok: true } }
    try {
      if (typeof m.commit !== 'string') throw updateError('UPDATE_BAD_OFFER', 'the offer names no commit')
      if (m.commit !== o.running().commit) {
        const link = o.link()
        const c = await fetchBundle(async () => await link.openStream(from, o.protocols.genomeBundle), m.commit, o.paths.checkouts,
          async (repo) => await checkoutGenome(repo, m.commit, o.paths.checkouts, { pinFile: o.paths.genomePin }))
        take(c)
      }
      return { phase: 'trial' }
    } catch (err) {
      const v = refused(err)
      o.organism().note({ kind: 'info', text: `refused an update offered by ${o.organism().nameOf(from)}: ${v.why ?? ''}` })
      return v
    }
  }

  /** Asks a member, or says it could not be reached. */
  const ask = async <T>(peer: string, m: Message): Promise<T | { phase: 'unreachable', why: string }> => {
    try { return decode<T>(await o.link().request(peer, o.protocols.update, encode(m))) } catch (err) { return { phase: 'unreachable', why: (err as Error).message } }
  }

  /** Waits until this cell (peer null) or a member has finished taking commit, or the wave's time is up. */
  const outcome = async (peer: string | null, commit: string, deadline: number): Promise<Partial<CellVerdict>> => {
    for (;;) {
      const p = peer == null ? o.local.progress() : await ask<Progress | null>(peer, { kind: 'progress', commit })
      if (p != null && (p.phase === 'unreachable' || finished(p as Progress))) return p as Partial<CellVerdict>
      if (Date.now() > deadline) return { phase: 'refused', why: `it had not finished after ${WAVE_LIMIT_MS / 60_000} min (${p?.phase ?? 'no answer'})` }
      await sleep(POLL_MS)
    }
  }

  return {
    name: 'updater',
    start: async () => {
      const link = o.link()
      await link.handleStream(o.protocols.genomeBundle, (stream) => {
        void serveBundle(stream, `${o.paths.checkouts}/objects.git`, o.paths.checkouts).catch((err: unknown) => { log.warn('could not send a genome bundle', { err }); stream.destroy() })
      })
      await link.handle(o.protocols.update, async (body, from) => encode(await onMessage(decode<Message>(body), from)))
    },
    stop: async () => { await o.local.idle() },
    offer: async (ref) => {
      const c = await checkoutGenome(o.genomeRepo, ref, o.paths.checkouts, { pinFile: o.paths.genomePin })
      const policy = c.genome.update ?? DEFAULT_UPDATE
      const org = o.organism()
      const self = o.link().peerId
      const cells: CellVerdict[] = []
      take(c)
      const canary = { cell: org.nameOf(self), wave: 0, ...await outcome(null, c.commit, Date.now() + WAVE_LIMIT_MS) } as CellVerdict
      cells.push(canary)
      const peers = org.cellRefs().filter((r) => r.peer !== self && r.liveness !== 'dead').map((r) => r.peer)
      const serves = (peer: string): string[] => org.cells().find((x) => x.peer === peer)?.record?.body.functions ?? []
      const waves = planWaves(peers, policy.waves, serves)
      let failed = canary.phase !== 'done' ? `${canary.cell}: ${canary.why ?? canary.phase}` : null
      for (const [i, wave] of waves.entries()) {
        if (failed != null) { for (const p of wave) cells.push({ cell: org.nameOf(p), wave: i + 1, phase: 'not offered' }); continue }
        org.note({ kind: 'info', text: `update ${short(c.commit)}, wave ${i + 1} of ${waves.length}: ${wave.map(org.nameOf).join(', ')}` })
        const offered = await Promise.all(wave.map(async (p) => ({ p, v: await ask<Partial<CellVerdict>>(p, { kind: 'offer', commit: c.commit }) })))
        const deadline = Date.now() + WAVE_LIMIT_MS
        for (const { p, v } of offered) {
          const end = v.phase === 'trial' ? await outcome(p, c.commit, deadline) : v
          cells.push({ cell: org.nameOf(p), wave: i + 1, ...end } as CellVerdict)
          if (end.phase !== 'done' && end.phase !== 'unreachable') failed ??= `${org.nameOf(p)}: ${end.why ?? end.phase}`
        }
      }
      if (failed == null) return { commit: c.commit, outcome: 'done', cells }
      org.note({ kind: 'restart', text: `update ${short(c.commit)} called off (${failed}): every cell that took it goes back` })
      // Every live member hears it: those that took it go back, the others mark it bad too (no cell offers it again).
      await Promise.all(peers.map(async (p) => await ask(p, { kind: 'revert', commit: c.commit, why: `the update's gate failed: ${failed}` })))
      await o.local.revert(c.commit, `the update's gate failed: ${failed}`)
      return { commit: c.commit, outcome: 'reverted', cells }
    }
  }
}
