// The dns module: pure authoritative answers for the organism's zone, a UDP+TCP server, and RFC 2136 pushes.
//
//   const server = createDnsServer({ port: 53, host: '0.0.0.0', view: () => cell.zoneView() })
//   await server.start()                       // server.port is the bound port (0 = pick one)
//   await pushRecords({ server: { host, port }, zone: 'campus.test', key, records: placementRecords(view), previous })
export { answer, answerFromZone } from './answer.ts'
export { createDnsServer } from './server.ts'
export type { DnsServer, DnsServerOptions, DnsServerStats } from './server.ts'
export { pushRecords, buildUpdate } from './update.ts'
export type { PushOptions, PushResult } from './update.ts'
export { buildZone, placementRecords, soaRecord, SRV_LABEL, INFRA_TTL } from './records.ts'
export { cellNameProblem, namedCells } from './names.ts'
export type { Zone } from './records.ts'
export type { TsigKey, TsigAlgorithm } from './tsig.ts'
export { readTsigKey } from './tsig-key.ts'
export type { ZoneView, ZoneCell, ZoneFunction, ZoneNameserver } from './types.ts'
export { dnsError } from './errors.ts'
export type { DnsErrorCode } from './errors.ts'
export { RCODE, rcodeName } from './wire.ts'
