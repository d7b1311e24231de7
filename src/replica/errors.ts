// Error codes of keeping a function's data on a replica cell.
import { defineErrors } from '../core/errors.ts'

export const replicaError = defineErrors('replica', {
  REPLICA_UNAVAILABLE: { hint: 'The write reached the owner but not its replica in time, so it was not acknowledged (it may or may not be kept). Retry; `cell status` shows the replica and why it lags. If no other cell is alive, writes are accepted unreplicated.' },
  REPLICA_REFUSED: { hint: 'The replica cell refused the data: only the owner the ownership store names may send it, and never to a cell that runs the function. `cell status` on both cells shows who owns what.' },
  REPLICA_PROTOCOL: { hint: 'The peer sent something that is not a replication stream; check that both cells run the same software version.' },
  REPLICA_BAD_PATH: { hint: 'A replicated file name leaves the data directory (absolute, or with ..); the batch was refused and nothing was written.' },
  REPLICA_JOURNAL_INVALID: { hint: 'The replica journal of a function is damaged (a crash while it was written); it was set aside as <dir>.journal.bad and the batch it held was never acknowledged. Nothing to do unless this repeats (then check the disk).' }
})
