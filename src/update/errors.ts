// Error codes of genome updates offered from cell to cell.
import { defineErrors } from '../core/errors.ts'

export const updateError = defineErrors('update', {
  UPDATE_NEEDS_RESTART: { hint: 'This update changes more than the functions\' code and how they start (a function added or removed, a domain, the data or the division settings): it cannot be switched in place yet. Restart each cell on the new commit (`cell stop`, then `cell start --ref COMMIT`), one at a time.' },
  UPDATE_BUNDLE_FAILED: { hint: 'The genome objects could not be fetched from the cell that offered the update (it stopped, the link broke, or it does not have that commit). Run `cell update` again on a cell that runs the new commit.' },
  UPDATE_BAD_OFFER: { hint: 'The offer was not an update this cell understands (a commit id of 40 or 64 hex digits); check that both cells run the same software version.' }
})
