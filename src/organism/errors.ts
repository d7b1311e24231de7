// Error codes of the organism layer: joining, admitting, the cell-to-cell protocols.
import { defineErrors } from '../core/errors.ts'

export const organismError = defineErrors('organism', {
  ORGANISM_JOIN_CONFLICT: { hint: 'This state directory already belongs to an organism: start without --join to resume it, or use a new --state DIR to join another.' },
  ORGANISM_PLACEMENT_DISAGREES: { hint: 'Two cells briefly disagree on who owns the function (a move or a partition is settling); retry in a second.' }
})
