// Who votes in the ownership store: 1 voter with 1–2 cells, 3 from 3, 5 from 5. The live voter with the lowest id
// tends the set: it removes a dead voter, adds a live cell as a learner (which never counts for the majority),
// has it start its own etcd, and promotes it once it has caught up.
import type { EtcdCluster } from '../ownership/index.ts'

/** How many voters an organism of this many live cells keeps (pure). */
export function votersWanted (aliveCells: number): number {
  return aliveCells >= 5 ? 5 : aliveCells >= 3 ? 3 : 1
}

export interface VoterPorts {
  readonly self: string
  readonly cluster: EtcdCluster
  /** The organism's cells as this cell sees them. */
  cells: () => ReadonlyArray<{ peer: string, liveness: string }>
  /** Asks a cell to get ready to vote (its peer and client URLs). */
  prepare: (peer: string) => Promise<{ peerUrl: string }>
  /** Tells it to start its etcd as a new member of this cluster. */
  startMember: (peer: string, initialCluster: string) => Promise<void>
  /** Cells that could not become voters lately (no etcd on their host, say): not asked again for a while. */
  avoid?: ReadonlySet<string>
}

/** One look at the voter set; says what it did (for the log), or why it did nothing. */
export async function tendVoters (p: VoterPorts): Promise<string> {
  const members = await p.cluster.members()
  const alive = new Set(p.cells().filter((c) => c.liveness !== 'dead').map((c) => c.peer))
  alive.add(p.self)
  const voters = members.filter((m) => !m.learner && m.name !== '')
  const manager = voters.map((m) => m.name).filter((n) => alive.has(n)).sort()[0]
  if (manager !== p.self) return 'another voter tends the set'
  const dead = voters.find((m) => !alive.has(m.name) && p.cells().some((c) => c.peer === m.name && c.liveness === 'dead'))
  if (dead != null) {
    await p.cluster.remove(dead.id)
    return `removed dead voter ${dead.name}`
  }
  for (const m of members.filter((x) => x.learner && x.name !== '')) {
    try { await p.cluster.promote(m.id); return `promoted ${m.name}` } catch { /* not caught up yet: next look */ }
  }
  // A learner added but never started has no name; its cell may have died before it could.
  const unstarted = members.find((m) => m.name === '')
  if (unstarted != null) {
    await p.cluster.remove(unstarted.id)
    return 'removed a learner that never started'
  }
  if (members.some((m) => m.learner)) return 'a learner is catching up'
  if (voters.length >= votersWanted(alive.size)) return 'enough voters'
  const candidate = [...alive].filter((id) => !members.some((m) => m.name === id) && p.avoid?.has(id) !== true).sort()[0]
  if (candidate == null) return 'no cell to add'
  const { peerUrl } = await p.prepare(candidate)
  const added = await p.cluster.addLearner(peerUrl)
  const initialCluster = added.members.map((m) => `${m.name !== '' ? m.name : candidate}=${m.peerUrls[0]}`).join(',')
  await p.startMember(candidate, initialCluster)
  return `added ${candidate} as a learner`
}
