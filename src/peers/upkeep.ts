// Keeping the membership true over time: what a change does to connections, operators' expulsions applied and
// spread, and this cell's own admission renewed before it lapses.
import type { Libp2p } from 'libp2p'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../core/log.ts'
import type { Clock } from '../core/clock.ts'
import { rootOf } from './admission.ts'
import { peersError } from './errors.ts'
import type { ExpulsionBook } from './expulsion.ts'
import { askToRenew, JOIN_PROTOCOL } from './join.ts'
import type { Membrane } from './membrane.ts'
import type { Membership } from './membership.ts'
import { renewalTarget } from './renewal.ts'
import type { Roster } from './roster.ts'

export interface UpkeepContext {
  selfId: string
  organism: string
  libp2p: Libp2p
  membership: Membership
  membrane: Membrane
  expulsions: ExpulsionBook
  roster: Roster
  clock: Clock
  log: Logger
  ttlMs: number
  timeoutMs: number
  maxBytes: number
  closeAll: (peerId: string) => void
}

export interface Upkeep {
  /** Checks an expulsion, applies it, and (from the operator) passes it on; returns the cells that are members no more. */
  applyExpulsion: (raw: unknown, from: string) => Promise<string[]>
  /** Asks a member for a renewal of this cell's admission when it needs one. */
  maybeRenew: () => Promise<void>
  /** A renewal this member signed less long ago than this is handed out again. */
  renewReuseMs: number
}

export function membershipUpkeep (ctx: UpkeepContext): Upkeep {
  const { membership, log, selfId } = ctx
  membership.onChange((change) => {
    if (change.type === 'admitted') {
      ctx.membrane.admitted(change.peerId)
      log.info('member admitted', { peerId: change.peerId, admittedBy: change.record.admittedBy })
    } else if (change.type === 'removed') {
      if (change.peerId === selfId) log.error(`this cell is no longer a member (${change.why})`, { code: change.why === 'expelled' ? 'PEERS_EXPELLED' : 'PEERS_NOT_MEMBER' })
      else log.warn(`member removed (${change.why})`, { peerId: change.peerId })
      // An expelled cell is cut off at once; a lapsed one may still come back as a stranger to be renewed.
      if (change.why === 'expelled') ctx.closeAll(change.peerId)
    }
  })

  const applyExpulsion = async (raw: unknown, from: string): Promise<string[]> => {
    const e = await ctx.expulsions.check(raw)
    if (membership.isExpelled(e.peer)) return []
    const genesis = membership.genesis
    if (genesis != null && rootOf(genesis, new Map([...membership.expelled(), [e.peer, e.successor]])) == null) {
      throw peersError('PEERS_EXPULSION_INVALID', `expelling ${e.peer} leaves the organism without a root: sign it again naming a successor`)
    }
    ctx.expulsions.keep(e.peer, e.expulsion)
    const removed = await membership.expel(e.peer, e.successor)
    log.warn('member expelled by an operator', { peerId: e.peer, via: from, removed })
    if (from === 'operator') await ctx.roster.announceExpulsion(e.expulsion).catch((err: unknown) => { log.warn('could not spread the expulsion', { err }) })
    return removed
  }

  const renewAfterMs = ctx.ttlMs / 3
  const maybeRenew = async (): Promise<void> => {
    // The root needs no admission to be a member, but its renewals count for the horizon like everyone's.
    if (membership.genesis == null || membership.isExpelled(selfId)) return
    const to = renewalTarget({
      self: selfId, mine: [...membership.recordsOf(selfId), ...membership.lapsedRecords(selfId)], members: membership.members(),
      connected: new Set(ctx.libp2p.getPeers().map(String)), now: ctx.clock.now(), renewAfterMs, random: Math.random
    })
    if (to == null) return
    // A lapsed cell is a stranger to the others now: it may dial them only as it would a join target.
    const release = ctx.membrane.allowJoinTarget(to)
    try {
      const signal = AbortSignal.timeout(ctx.timeoutMs)
      const record = await askToRenew(await ctx.libp2p.dialProtocol(peerIdFromString(to), JOIN_PROTOCOL, { signal }), ctx.organism, ctx.maxBytes, signal)
      if (record.peerId !== selfId || record.admittedBy !== to) throw peersError('PEERS_ADMISSION_INVALID', 'the renewal names another cell')
      const added = await membership.add(record)
      if (!added.ok) throw peersError('PEERS_ADMISSION_INVALID', `the renewal does not verify: ${added.reason}`)
      log.info('admission renewed', { by: to })
      ctx.roster.hello().catch(() => {})
    } finally {
      release()
    }
  }
  return { applyExpulsion, maybeRenew, renewReuseMs: renewAfterMs / 2 }
}
