// Error codes of the ownership store: refused transitions, an unreachable or missing store.
import { defineErrors } from '../core/errors.ts'

export const ownershipError = defineErrors('ownership', {
  OWNERSHIP_REFUSED: { hint: 'The store refused the change of owner (see the message: another cell owns the function, its epoch moved on, or its owner still holds its lease); read `cell status` for the current owner and try again there.' },
  OWNERSHIP_TAMPERED: { hint: 'A record in the ownership store was written around the rules (by a member holding a store certificate, or by hand): this cell does not build on it, and the rightful owner writes its record back. `cell status` shows the rejected record among the recent events; find the member that wrote it.' },
  OWNERSHIP_CONFLICT: { hint: 'The function\'s record changed while this change was being made, again and again; retry in a moment (another change of the same function was under way).' },
  OWNERSHIP_UNAVAILABLE: { hint: 'The ownership store cannot be reached or has lost its majority of voters; nothing changes owner until it is back. Check that the voter cells are running and can reach each other (`cell status`).' },
  OWNERSHIP_NO_ETCD: { hint: 'A multi-cell organism keeps ownership in etcd: install it (Debian: `apt-get install etcd-server`) or set ORGANISM_ETCD to the etcd binary.' },
  OWNERSHIP_STORE_CORRUPT: { hint: 'The local ownership file could not be read as ownership records; restore it from a backup or remove it to let the founding cell claim every function again.' }
})
