// The only ways ownership changes (pure): every store applies these to the record it holds, atomically, so that
// an epoch never has two owners and a member cannot take a function on its own say.
import type { Ownership, Transition, Verdict } from './types.ts'

const no = (why: Extract<Verdict, { ok: false }>['why'], message: string): Verdict => ({ ok: false, why, message })

export function transition (fn: string, cur: Ownership | null, t: Transition): Verdict {
  const v = decide(fn, cur, t)
  // Every change is one step: its number lets a reader that missed some ask the store for exactly those.
  return v.ok ? { ok: true, next: { ...v.next, seq: (cur?.seq ?? 0) + 1 } } : v
}

function decide (fn: string, cur: Ownership | null, t: Transition): Verdict {
  if (t.by === '' || (t.kind === 'handoff' && t.to === '')) return no('bad-request', `a transition of ${fn} names no cell`)
  if (t.kind === 'found') {
    if (cur != null) return no('conflict', `${fn} is owned already (by ${cur.owner} at epoch ${cur.epoch})`)
    return { ok: true, next: { fn, owner: t.by, epoch: 1, state: 'serving' } }
  }
  if (cur == null) return no('not-owner', `no cell owns ${fn} yet`)
  // Every other transition names the epoch it saw: a stale view of the record never changes it.
  if (t.epoch !== cur.epoch) return no('conflict', `${fn} is at epoch ${cur.epoch}, not ${t.epoch}`)
  switch (t.kind) {
    case 'handoff':
      if (cur.owner !== t.by) return no('not-owner', `${t.by} does not own ${fn} (${cur.owner} does)`)
      if (cur.state !== 'serving') return no('conflict', `${fn} is already moving to ${cur.to ?? '?'}`)
      if (t.to === t.by) return no('bad-request', `${fn} is already at ${t.by}`)
      return { ok: true, next: { ...keepReplica(cur), fn, owner: cur.owner, epoch: cur.epoch, state: 'moving', to: t.to } }
    case 'complete':
      if (cur.owner !== t.from || cur.state !== 'moving' || cur.to !== t.by) return no('not-owner', `${fn} is not being handed from ${t.from} to ${t.by}`)
      return { ok: true, next: { fn, owner: t.by, epoch: cur.epoch + 1, state: 'serving' } }
    case 'abort':
      if (cur.owner !== t.by) return no('not-owner', `${t.by} does not own ${fn}`)
      if (cur.state !== 'moving') return no('conflict', `${fn} is not moving`)
      return { ok: true, next: { ...keepReplica(cur), fn, owner: cur.owner, epoch: cur.epoch, state: 'serving' } }
    case 'takeover':
      if (t.ownerAlive) return no('owner-alive', `${fn}'s owner ${cur.owner} still holds its lease`)
      if (cur.owner === t.by && cur.state === 'serving') return no('conflict', `${fn} is already ${t.by}'s`)
      // The replica has every acknowledged write; anyone else would serve fn without them.
      if (t.force !== true && cur.replica !== t.by) {
        return no('not-replica', cur.replica == null ? `no replica holds ${fn}'s data: only a forced takeover (without the data) is possible` : `${cur.replica} holds ${fn}'s data, not ${t.by}`)
      }
      return { ok: true, next: { fn, owner: t.by, epoch: cur.epoch + 1, state: 'serving', ...t.force === true ? { forced: true as const, ...t.override != null ? { override: t.override } : {} } : {} } }
    case 'replica':
      if (cur.owner !== t.by) return no('not-owner', `${t.by} does not own ${fn} (${cur.owner} does)`)
      if (t.replica === t.by) return no('bad-request', `the owner of ${fn} cannot be its own replica`)
      if (t.replica == null) return { ok: true, next: withoutReplica(bare(cur)) }
      return { ok: true, next: { ...bare(cur), replica: t.replica } }
  }
}

/** Whether a cell may still serve writes under its lease: it stops a margin before the store could expire it. */
export function mayServe (lastRenewedAt: number | null, ttlMs: number, now: number, marginMs = Math.min(1000, ttlMs / 4)): boolean {
  return lastRenewedAt != null && now < lastRenewedAt + ttlMs - marginMs
}

function withoutReplica (o: Ownership): Ownership {
  const { replica: _gone, ...rest } = o
  return rest
}

// A hand-off keeps the replica until the receiver completes it: an owner that dies mid-move is taken over as ever.
const keepReplica = (o: Ownership): { replica?: string } => o.replica != null ? { replica: o.replica } : {}

/** The record's own facts, without the proof of the change that made it (each change is signed anew). */
function bare (o: Ownership): Ownership {
  const { proof: _p, ...rest } = o
  return rest
}
