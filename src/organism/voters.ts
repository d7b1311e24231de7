// Who votes in the ownership store: 1 voter with 1–2 cells, 3 from 3, 5 from 5. The live voter with the lowest id
// tends the set: it removes a dead voter, adds a live cell as a learner (which never counts for the majority),
// has it start its own etcd, and promotes learners together once they have caught up.
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

/**
 * One look at the voter set; says what it did (for the log), or why it did nothing. The count of voters is kept odd
 * (1 -> 3 -> 5; a 2-voter cluster stops at the death of either): an odd set grows by a learner (etcd 3.4 allows one),
 * promoted once it has caught up, and the even set that makes is at once given a voter that counts from the start
 * (two of three then are a majority while the third starts). A dead voter is removed once the live ones are as many
 * as wanted and odd, so that its replacement votes before it goes and the set never shrinks to an even one.
 */
export async function tendVoters (p: VoterPorts): Promise<string> {
  const members = await p.cluster.members()
  const alive = new Set(p.cells().filter((c) => c.liveness !== 'dead').map((c) => c.peer))
  alive.add(p.self)
  const voters = members.filter((m) => !m.learner && m.name !== '')
  const manager = voters.map((m) => m.name).filter((n) => alive.has(n)).sort()[0]
  if (manager !== p.self) return 'another voter tends the set'
  const want = votersWanted(alive.size)
  const liveVoters = voters.filter((m) => alive.has(m.name)).length
  // Dead, or no member at all any more (expelled, or its admissions lapsed): a voter that is not ours is replaced too.
  const dead = voters.filter((m) => !alive.has(m.name))
  // A learner added but never started has no name; its cell may have died before it could.
  const unstarted = members.find((m) => m.name === '' && m.learner)
  if (unstarted != null) {
    await p.cluster.remove(unstarted.id)
    return 'removed a learner that never started'
  }
  const candidate = (): string | undefined => [...alive].filter((id) => !members.some((m) => m.name === id) && p.avoid?.has(id) !== true).sort()[0]
  const add = async (peer: string, learner: boolean): Promise<void> => {
    const { peerUrl } = await p.prepare(peer)
    const added = await p.cluster.add(peerUrl, learner)
    members.push(...added.members.filter((m) => !members.some((x) => x.id === m.id)))
    const initialCluster = added.members.map((m) => `${m.name !== '' ? m.name : peer}=${m.peerUrls[0]}`).join(',')
    await p.startMember(peer, initialCluster)
  }
  const learner = members.find((m) => m.learner)
  if (learner != null) {
    try { await p.cluster.promote(learner.id) } catch { return 'a learner is catching up' }
    const next = liveVoters + 1 < want ? candidate() : undefined
    if (next == null) return `promoted ${learner.name}`
    await add(next, false)
    return `promoted ${learner.name}, added ${next} as a voter`
  }
  // Only down to an odd set: 3 voters with one dead still have a majority (and the dead one, back, votes again
  // with its data); removing it would leave 2, which stop at the death of either.
  if (dead.length > 0 && liveVoters >= want && liveVoters % 2 === 1) {
    await p.cluster.remove(dead[0].id)
    return `removed dead voter ${dead[0].name}`
  }
  if (liveVoters >= want) return 'enough voters'
  const next = candidate()
  if (next == null) return 'no cell to add'
  const even = voters.length % 2 === 0
  await add(next, !even)
  return `added ${next} as ${even ? 'a voter' : 'a learner'}`
}
