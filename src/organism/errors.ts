// Error codes of the organism layer: joining with a state directory that already holds a member.
import { defineErrors } from '../core/errors.ts'

export const organismError = defineErrors('organism', {
  ORGANISM_JOIN_CONFLICT: { hint: 'This state directory already belongs to an organism: start without --join to resume it, or use a new --state DIR to join another.' }
})
