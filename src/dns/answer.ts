// Pure answers: a decoded query and the zone view in, the response packet out (no I/O, no clock).
import { AUTHORITATIVE_ANSWER, RECURSION_DESIRED, CHECKING_DISABLED } from 'dns-packet'
import type { Packet, Answer, Question, OptAnswer } from 'dns-packet'
import type { ZoneView } from './types.ts'
import { buildZone, normalizeName, inZone } from './records.ts'
import type { Zone } from './records.ts'
import { RCODE, OPCODE_QUERY, EDNS_PAYLOAD, opcodeOf, withRcode } from './wire.ts'

/** ANY gets one RRset (RFC 8482 §4.1), the first that exists in this order. */
const ANY_ORDER = ['A', 'AAAA', 'SRV', 'SOA', 'NS']
/** Zone transfers are not offered by cells; the genome is the source of the zone. */
const REFUSED_TYPES = new Set(['AXFR', 'IXFR'])
/** Meta types that are never valid in a question (RFC 6891, RFC 8945). */
const INVALID_QTYPES = new Set(['OPT', 'TSIG', 'TKEY'])

export function answer (query: Packet, view: ZoneView): Packet {
  return answerFromZone(query, buildZone(view))
}

/** Same as answer(), with the zone already built (the server builds it once per view change). */
export function answerFromZone (query: Packet, zone: Zone): Packet {
  const questions = query.questions ?? []
  const opts = (query.additionals ?? []).filter((rr): rr is OptAnswer => rr.type === 'OPT')
  const reply = (rcode: number, parts: { aa?: boolean, answers?: Answer[], authorities?: Answer[], additionals?: Answer[] } = {}): Packet => {
    const flags = ((query.flags ?? 0) & (0x7800 | RECURSION_DESIRED | CHECKING_DISABLED)) | (parts.aa === true ? AUTHORITATIVE_ANSWER : 0)
    const additionals = [...(parts.additionals ?? [])]
    // EDNS: answer an OPT with an OPT (RFC 6891 §7); our buffer size bounds what the client may send us.
    if (opts.length === 1) additionals.push(optRecord(0))
    return { id: query.id ?? 0, type: 'response', flags: withRcode(flags, rcode), questions, answers: parts.answers ?? [], authorities: parts.authorities ?? [], additionals }
  }

  if (opcodeOf(query.flags ?? 0) !== OPCODE_QUERY) return reply(RCODE.NOTIMP)
  // RFC 9619: a QUERY carries exactly one question; there is no sane way to answer two at once.
  if (questions.length !== 1 || opts.length > 1) return reply(RCODE.FORMERR)
  if (opts[0] != null && opts[0].ednsVersion !== 0) {
    // BADVERS (16): the upper eight bits go in the OPT, the lower four (0) in the header.
    return { ...reply(RCODE.NOERROR), additionals: [optRecord(1)] }
  }
  const q: Question = questions[0]
  const qtype = q.type.toUpperCase()
  if (INVALID_QTYPES.has(qtype)) return reply(RCODE.FORMERR)
  const qclass = (q.class ?? 'IN').toUpperCase()
  const name = normalizeName(q.name)
  if ((qclass !== 'IN' && qclass !== 'ANY') || !inZone(name, zone.apex)) return reply(RCODE.REFUSED)
  if (REFUSED_TYPES.has(qtype)) return reply(RCODE.REFUSED)

  const negativeSoa: Answer = { ...zone.soa, ttl: Math.min(zone.soa.ttl ?? 0, zone.soa.data.minimum ?? 0) }
  const records = zone.byName.get(name)
  if (records == null) {
    // An empty non-terminal (e.g. _tcp.<zone> above _organism._tcp.<zone>) exists: NODATA, not NXDOMAIN (RFC 8020).
    const suffix = '.' + name
    const exists = [...zone.byName.keys()].some((owner) => owner.endsWith(suffix))
    return reply(exists ? RCODE.NOERROR : RCODE.NXDOMAIN, { aa: true, authorities: [negativeSoa] })
  }

  let matched: Answer[]
  if (qtype === 'ANY') {
    const first = ANY_ORDER.find((type) => records.some((rr) => rr.type === type))
    matched = records.filter((rr) => rr.type === first)
  } else {
    matched = records.filter((rr) => rr.type === qtype)
  }
  if (matched.length === 0) return reply(RCODE.NOERROR, { aa: true, authorities: [negativeSoa] })

  // Owner names echo the question's spelling (0x20 case randomisation by resolvers expects it).
  const answers = matched.map((rr) => ({ ...rr, name: q.name }) as Answer)
  return reply(RCODE.NOERROR, { aa: true, answers, additionals: additionalFor(matched, zone) })
}

/** Addresses of NS and SRV targets inside the zone, so that the client needs no second query. */
function additionalFor (answers: readonly Answer[], zone: Zone): Answer[] {
  const targets = new Set<string>()
  for (const rr of answers) {
    if (rr.type === 'NS') targets.add(normalizeName(rr.data))
    if (rr.type === 'SRV') targets.add(normalizeName(rr.data.target))
  }
  const out: Answer[] = []
  for (const target of targets) {
    for (const rr of zone.byName.get(target) ?? []) if (rr.type === 'A' || rr.type === 'AAAA') out.push(rr)
  }
  return out
}

function optRecord (extendedRcode: number): OptAnswer {
  return { name: '.', type: 'OPT', udpPayloadSize: EDNS_PAYLOAD, extendedRcode, ednsVersion: 0, flags: 0, flag_do: false, options: [] }
}
