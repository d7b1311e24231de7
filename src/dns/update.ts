// RFC 2136 dynamic update of an existing primary: replace the RRsets we own, signed with TSIG, over TCP.
import { connect } from 'node:net'
import { randomInt } from 'node:crypto'
import { encode } from 'dns-packet'
import type { Answer } from 'dns-packet'
import { logger } from '../core/log.ts'
import { dnsError } from './errors.ts'
import { normalizeName, inZone, tidy } from './records.ts'
import { signMessage, findTsig, verifyResponse, wireName, TSIG_ERRORS, CLASS_ANY } from './tsig.ts'
import type { TsigKey } from './tsig.ts'
import { Deframer, frame, rcodeName, OPCODE_UPDATE, QR_BIT, RCODE } from './wire.ts'

const PUSHABLE = new Set(['A', 'AAAA', 'SRV', 'TXT'])
const TYPE_CODES: Record<string, number> = { A: 1, TXT: 16, AAAA: 28, SRV: 33 }
const log = logger('dns').child('update')

export interface PushOptions {
  server: { host: string, port: number }
  zone: string
  key: TsigKey
  /** The records the organism wants now (placementRecords(view) gives them). */
  records: Answer[]
  /** What the last push sent: names that disappeared since then are deleted too. */
  previous?: Answer[]
  timeoutMs?: number
  signal?: AbortSignal
  /** Seconds since the epoch, for TSIG time signed (tests). */
  now?: () => number
}

export interface PushResult {
  /** RRsets deleted (one per owned name and managed type; deleting an absent one is a no-op). */
  deleted: number
  added: number
}

/** Builds the unsigned UPDATE: zone SOA in the zone section, then deletes, then adds (RFC 2136 §2.5). */
export function buildUpdate (zone: string, records: readonly Answer[], previous: readonly Answer[], id: number): { message: Buffer, deleted: number, added: number } {
  const apex = normalizeName(zone)
  const current = tidy(records)
  for (const rr of [...current, ...previous]) {
    if (!PUSHABLE.has(rr.type) || !inZone(normalizeName(rr.name), apex)) {
      throw dnsError('DNS_INVALID_RECORD', `cannot push ${rr.type} record ${rr.name} to zone ${apex}`, { details: { name: rr.name, type: rr.type, zone: apex } })
    }
  }
  const names = [...new Set([...current, ...previous].map((rr) => normalizeName(rr.name)))].sort()
  const types = [...new Set([...current, ...previous].map((rr) => rr.type))].sort()
  const deletes: Buffer[] = []
  // Delete an RRset: class ANY, TTL 0, empty RDATA (§2.5.2). Every managed type at every owned name,
  // so that an address family or SRV set that went away is removed too.
  for (const name of names) {
    for (const type of types) {
      const rr = Buffer.alloc(10)
      rr.writeUInt16BE(TYPE_CODES[type], 0)
      rr.writeUInt16BE(CLASS_ANY, 2)
      deletes.push(wireName(name), rr)
    }
  }
  // dns-packet does not compress names, so an encoded answer section is position-independent: reuse its bytes.
  const adds = current.length === 0 ? Buffer.alloc(0) : encode({ answers: current }).subarray(12)
  const header = Buffer.alloc(12)
  header.writeUInt16BE(id, 0)
  header.writeUInt16BE(OPCODE_UPDATE << 11, 2)
  header.writeUInt16BE(1, 4) // ZOCOUNT
  header.writeUInt16BE(names.length * types.length + current.length, 8) // UPCOUNT
  const zoneSection = Buffer.concat([wireName(apex), Buffer.from([0, 6, 0, 1])]) // SOA IN
  return { message: Buffer.concat([header, zoneSection, ...deletes, adds]), deleted: names.length * types.length, added: current.length }
}

/** Sends the update and checks the signed answer; throws a typed error for every way it can fail. */
export async function pushRecords (options: PushOptions): Promise<PushResult> {
  const { server, key } = options
  const where = `${server.host}:${server.port}`
  const now = options.now ?? (() => Date.now() / 1000)
  const id = randomInt(0, 0x10000)
  const built = buildUpdate(options.zone, options.records, options.previous ?? [], id)
  const { signed, mac } = signMessage(built.message, key, now())
  const response = await exchangeTcp(server, signed, options.timeoutMs ?? 5000, options.signal)

  if (response.length < 12 || response.readUInt16BE(0) !== id || (response.readUInt16BE(2) & QR_BIT) === 0 || ((response.readUInt16BE(2) >> 11) & 0xf) !== OPCODE_UPDATE) {
    throw dnsError('DNS_UPDATE_BAD_RESPONSE', `${where} did not answer our UPDATE with an UPDATE response`, { details: { server: where } })
  }
  const rcode = response.readUInt16BE(2) & 0xf
  let tsig
  try {
    tsig = findTsig(response)
  } catch (err) {
    throw dnsError('DNS_UPDATE_BAD_RESPONSE', `malformed answer from ${where}: ${(err as Error).message}`, { cause: err, details: { server: where } })
  }
  const details = { server: where, zone: options.zone, key: key.name, rcode: rcodeName(rcode), tsigError: tsig == null ? undefined : TSIG_ERRORS[tsig.error] ?? tsig.error }
  // BADSIG/BADKEY come back unsigned (the server could not or would not sign them), so they are reported before verifying.
  if (tsig != null && tsig.error !== 0) {
    throw dnsError('DNS_TSIG_REJECTED', `${where} rejected the TSIG signature of key "${key.name}": ${rcodeName(rcode)}/${details.tsigError}`, { details })
  }
  if (tsig == null) {
    if (rcode !== RCODE.NOERROR) throw dnsError('DNS_UPDATE_REJECTED', `${where} refused the update of ${options.zone}: ${rcodeName(rcode)} (unsigned answer)`, { hint: hintFor(rcode, key.name), details })
    throw dnsError('DNS_TSIG_RESPONSE_INVALID', `${where} answered our signed update without a TSIG record`, { details })
  }
  const problem = verifyResponse(response, tsig, mac, key, now())
  if (problem != null) throw dnsError('DNS_TSIG_RESPONSE_INVALID', `the answer from ${where} does not verify: ${problem}`, { details })
  if (rcode !== RCODE.NOERROR) throw dnsError('DNS_UPDATE_REJECTED', `${where} refused the update of ${options.zone}: ${rcodeName(rcode)}`, { hint: hintFor(rcode, key.name), details })
  log.info('pushed records', { server: where, zone: options.zone, deleted: built.deleted, added: built.added })
  return { deleted: built.deleted, added: built.added }
}

function hintFor (rcode: number, keyName: string): string | undefined {
  switch (rcode) {
    case RCODE.REFUSED: return `The server's policy does not let key "${keyName}" change these names: add \`update-policy { grant ${keyName} zonesub ANY; };\` (or \`allow-update { key ${keyName}; };\`) to the zone.`
    case RCODE.NOTAUTH: return 'The server is not authoritative for this zone (or not its primary): point the push at the primary, or check the zone name.'
    case RCODE.NOTZONE: return 'A record lies outside the zone: check the zone name given to the push.'
    case RCODE.NOTIMP: return 'The server does not support dynamic updates; use a primary that does (BIND 9, Knot, PowerDNS).'
    case RCODE.SERVFAIL: return 'The primary failed to apply the update (journal not writable, zone not loaded); check its logs.'
    default: return undefined
  }
}

/** One framed message over a fresh TCP connection, one framed answer back; bounded by a timeout and the signal. */
async function exchangeTcp (server: { host: string, port: number }, message: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<Buffer> {
  const where = `${server.host}:${server.port}`
  const stop = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(signal == null ? [] : [signal])])
  return await new Promise<Buffer>((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port })
    const deframer = new Deframer()
    const finish = (err: Error | undefined, value?: Buffer): void => {
      stop.removeEventListener('abort', onAbort)
      socket.destroy()
      if (err != null) reject(err)
      else resolve(value as Buffer)
    }
    const onAbort = (): void => {
      finish(signal?.aborted === true ? signal.reason as Error : dnsError('DNS_UPDATE_TIMEOUT', `no answer from ${where} within ${timeoutMs} ms`, { details: { server: where } }))
    }
    if (stop.aborted) { onAbort(); return }
    stop.addEventListener('abort', onAbort)
    socket.on('connect', () => socket.write(frame(message)))
    socket.on('data', (chunk: Buffer) => {
      const [first] = deframer.push(chunk)
      if (first != null) finish(undefined, Buffer.from(first))
    })
    socket.on('error', (err) => finish(dnsError('DNS_UPDATE_UNREACHABLE', `cannot reach ${where} over TCP: ${err.message}`, { cause: err, details: { server: where } })))
    socket.on('close', () => finish(dnsError('DNS_UPDATE_BAD_RESPONSE', `${where} closed the connection without answering`, { details: { server: where } })))
  })
}
