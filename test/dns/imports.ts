// One import point for the DNS tests, with a typed error guard.
import { isOrganismError } from '../../src/core/errors.ts'
import type { OrganismError } from '../../src/core/errors.ts'
import type { DnsErrorCode } from '../../src/dns/index.ts'
export { pushRecords, placementRecords, createDnsServer, readTsigKey } from '../../src/dns/index.ts'

export function isDnsError (err: unknown, code: DnsErrorCode): err is OrganismError {
  return isOrganismError(err, code)
}
