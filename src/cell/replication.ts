// The glue between replication and the cell's parts: the organism's placements and liveness, the peer link's
// streams, and the supervisor (where a function's data lives, and whether it runs here).
import type { Scheduler } from '../core/clock.ts'
import { startableOf } from '../core/lifecycle.ts'
import type { Genome } from '../genome/types.ts'
import type { Supervisor } from '../supervisor/index.ts'
import type { Organism } from '../organism/index.ts'
import { createReplication } from '../replica/index.ts'
import type { Replication, ReplicaPorts } from '../replica/index.ts'
import type { MoveLink } from '../migrate/index.ts'

/** A function's data dir belongs to its process while it runs, starts, stops or arrives here. */
const IDLE = new Set(['stopped', 'failed'])

export function replicationPart (o: { genome: Genome, protocol: string, organism: () => Organism, link: () => Pick<MoveLink, 'openStream' | 'handleStream'>, supervisor: Supervisor, moving: () => { arriving: ReadonlySet<string>, leaving: ReadonlySet<string> }, bulk: { bindHost: string, advertise: string } | null, clock: Scheduler, expelled?: (peer: string) => boolean, quarantined?: (peer: string) => boolean }) {
  return startableOf<Replication>('replication', async () => {
    const org = o.organism()
    const ports: ReplicaPorts = {
      self: org.self,
      protocol: o.protocol,
      link: o.link(),
      placement: org.placement,
      placements: org.placements,
      read: org.read,
      change: org.change,
      // A quarantined cell holds no replica: data goes only to cells that run what was signed.
      live: () => org.cellRefs().filter((c) => (c.liveness === 'alive' && o.quarantined?.(c.peer) !== true) || c.peer === org.self).map((c) => c.peer),
      busy: (fn) => !IDLE.has(o.supervisor.get(fn)?.state ?? 'stopped') || o.moving().arriving.has(fn) || o.moving().leaving.has(fn),
      dataDir: (fn) => o.supervisor.dataDir(fn),
      bulk: o.bulk,
      note: (text) => { org.note({ kind: 'move', text }) },
      nameOf: org.nameOf,
      clock: o.clock,
      expelled: o.expelled,
      quarantined: o.quarantined
    }
    // Functions on several cells keep no data and have no owner to take over from.
    const r = createReplication(ports, o.genome.functions.filter((f) => f.instances == null))
    await r.start()
    return r
  }, async (r) => { await r.stop() })
}
