// A seeded Jepsen-style run on lab hosts: clients write unique records through random cells while faults are
// injected (kill -9 of an owner, a host cut off and healed, a cell frozen with SIGSTOP for 3 s, every cell killed
// and started again at once); then every function must be served through every cell, and the history must hold
// every acknowledged write and one cell per epoch (history.ts).
import { LabOrganism } from './lab-organism.ts'
import { checkHistory } from './history.ts'
import type { Verdict, WriteOp } from './history.ts'
import { request, waitFor } from './cell-process.ts'
import { seededRng } from '../../src/state/rng.ts'

export type Fault = 'kill-owner' | 'cut' | 'pause' | 'restart-all'
export const FAULTS: readonly Fault[] = ['kill-owner', 'cut', 'pause', 'restart-all']

export interface ChaosResult extends Verdict { seed: number, faults: string[], ms: number }

const PATHS: Record<string, string> = { catalog: '/courses', people: '/people', grades: '/grades', forum: '/courses/cs101/posts', media: '/files' }

/** One request that never throws: a frozen, cut-off or dead cell is an unacknowledged write (status 0). */
async function send (address: string, host: string, path: string, method: string, body: string | null): Promise<{ status: number, body: string, served?: string }> {
  const r = await request(80, host, path, { method, address, ...body != null ? { body } : {} }).catch(() => null)
  const served = r?.headers['x-organism-served']
  return r == null ? { status: 0, body: '' } : { status: r.status, body: r.body, ...typeof served === 'string' ? { served } : {} }
}

const pause = async (ms: number): Promise<void> => { await new Promise((r) => setTimeout(r, ms)) }

export async function runLabChaos (o: { seed: number, faults: number, hosts?: number, log?: (line: string) => void }): Promise<ChaosResult> {
  const log = o.log ?? (() => {})
  // Faults and clients draw from their own streams: the same seed gives the same faults whatever the clients did.
  const random = seededRng(o.seed)
  const clientRandom = seededRng(o.seed ^ 0x5bd1e995)
  const pick = <T>(xs: readonly T[], r = random): T => xs[Math.floor(r() * xs.length)]
  const org = await LabOrganism.create(o.hosts ?? 3)
  const started = Date.now()
  const ops: WriteOp[] = []
  const done: string[] = []
  let writing = true
  try {
    await org.startAll()
    await org.aliveEverywhere(org.names.length)
    // media to the second host: two owners, so that a fault hits one function and not the other.
    const moved = await org.cli('h1', ['move', 'media', '--to', 'h2'])
    if (moved.code !== 0) throw new Error(`move failed: ${moved.stderr}`)
    await waitFor('three voters and a replica of every function', async () => {
      for (const h of org.names) {
        const s = await org.status(h)
        if (s == null || s.store.endpoints.length !== Math.min(3, org.names.length) || s.placements.some((p) => p.replicaName == null)) return false
      }
      return true
    }, { tries: 300, everyMs: 200 })

    let n = 0
    const writer = async (w: number): Promise<void> => {
      while (writing) {
        const fn = clientRandom() < 0.5 ? 'forum' : 'media'
        const id = `jepsen-${o.seed}-${w}-${n++}`
        const via = pick(org.names, clientRandom)
        const t0 = Date.now()
        const r = fn === 'forum'
          ? await send(org.addr(via), 'forum.campus.test', '/courses/cs101/posts', 'POST', JSON.stringify({ author: 'jepsen', text: id }))
          : await send(org.addr(via), 'media.campus.test', `/files/${id}.txt`, 'PUT', id)
        ops.push({ fn, id, via, start: t0, end: Date.now(), status: r.status, ...r.served != null ? { served: r.served } : {} })
        await pause(30 + clientRandom() * 70)
      }
    }
    const writers = [writer(0), writer(1)]

    // Every kind of fault at least once (in a seeded order), then seeded picks.
    const order = [...FAULTS].sort(() => random() - 0.5)
    for (let i = 0; i < o.faults; i++) {
      await pause(2000 + random() * 2000)
      const fault = i < order.length ? order[i] : pick(FAULTS)
      const s = await org.status(org.names.filter((h) => org.running(h))[0])
      if (fault === 'kill-owner') {
        const fn = pick(['forum', 'media'])
        const owner = s?.placements.find((p) => p.fn === fn)?.ownerName ?? pick(org.names)
        done.push(`kill -9 ${owner} (owner of ${fn})`)
        await org.kill(owner)
        // Down long enough for its lease to expire and its replica to take over; back, it becomes the replica.
        await pause(8000 + random() * 4000)
        await org.start(owner)
      } else if (fault === 'cut') {
        const h = pick(org.names)
        done.push(`cut ${h}`)
        await org.lab.cut(h)
        await pause(3000 + random() * 3000)
        await org.lab.heal(h)
      } else if (fault === 'pause') {
        const h = pick(org.names)
        done.push(`SIGSTOP ${h} for 3 s`)
        await org.pause(h, 3000)
      } else {
        done.push('kill -9 of every cell, all started again at once')
        await Promise.all(org.names.map(async (h) => { await org.kill(h) }))
        await Promise.all(org.names.map(async (h) => { await org.start(h) }))
      }
      log(`fault ${i + 1}: ${done[done.length - 1]}`)
    }

    // Healed and whole again: every function served through every cell, bounded.
    await org.aliveEverywhere(org.names.length)
    await waitFor('every function served through every cell', async () => {
      for (const h of org.names) for (const [fn, path] of Object.entries(PATHS)) if ((await send(org.addr(h), `${fn}.campus.test`, path, 'GET', null)).status !== 200) return false
      return true
    }, { tries: 120, everyMs: 500 })
    writing = false
    await Promise.all(writers)
    const finalReads = new Map<string, Map<string, string>>()
    for (const fn of ['forum', 'media']) {
      const reads = new Map<string, string>()
      for (const h of org.names) reads.set(h, (await send(org.addr(h), `${fn}.campus.test`, PATHS[fn], 'GET', null)).body)
      finalReads.set(fn, reads)
    }
    return { ...checkHistory(ops, finalReads), seed: o.seed, faults: done, ms: Date.now() - started }
  } catch (err) {
    for (const h of org.names) log(`--- ${h} ---\n${org.output(h).slice(-3000)}`)
    throw err
  } finally {
    writing = false
    await org.destroy()
  }
}
