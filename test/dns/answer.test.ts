// The pure answerer: one test per kind of answer, on decoded packets, without sockets.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encode, decode, AUTHORITATIVE_ANSWER, TRUNCATED_RESPONSE } from 'dns-packet'
import type { Packet, RecordType, Answer, SoaAnswer } from 'dns-packet'
import { answer, RCODE } from '../../src/dns/index.ts'
import { encodeResponse } from '../../src/dns/wire.ts'
import { sampleView } from './fixtures.ts'

const view = sampleView()
const q = (name: string, type: RecordType | string, extra: Partial<Packet> = {}): Packet =>
  ({ id: 4242, type: 'query', flags: 0x0100, questions: [{ name, type: type as RecordType, class: 'IN' }], ...extra })
const rcode = (p: Packet): number => (p.flags ?? 0) & 0xf
const aa = (p: Packet): boolean => ((p.flags ?? 0) & AUTHORITATIVE_ANSWER) !== 0
const data = (p: Packet, section: 'answers' | 'additionals' = 'answers'): unknown[] => (p[section] ?? []).map((rr) => 'data' in rr ? rr.data : null)
/** Through the wire and back, as a client sees it (checks that rcode really lands in the flags). */
const wire = (p: Packet): Packet => decode(encodeResponse(p, 65535).bytes)

test('A and AAAA for a function domain, authoritative, id and RD echoed, short TTL', () => {
  const a = wire(answer(q('quiz.campus.test', 'A'), view))
  assert.equal(rcode(a), RCODE.NOERROR)
  assert.ok(aa(a))
  assert.equal(a.id, 4242)
  assert.equal((a.flags ?? 0) & 0x0100, 0x0100)
  assert.deepEqual(data(a).sort(), ['127.0.0.2', '127.0.0.3'])
  assert.ok((a.answers ?? []).every((rr) => 'ttl' in rr && rr.ttl === 5))
  assert.deepEqual(data(wire(answer(q('quiz.campus.test', 'AAAA'), view))), ['fd00::2'])
})

test('names are case-insensitive and the question is echoed exactly', () => {
  const a = wire(answer(q('CaTaLoG.Campus.TEST', 'A'), view))
  assert.equal(a.questions?.[0].name, 'CaTaLoG.Campus.TEST')
  assert.equal(a.answers?.[0].name, 'CaTaLoG.Campus.TEST')
  assert.deepEqual(data(a), ['127.0.0.2'])
})

test('SOA at the apex carries the serial from the view and sane timers', () => {
  const a = wire(answer(q('campus.test', 'SOA'), sampleView({ serial: 2026112601 })))
  const soa = a.answers?.[0] as SoaAnswer
  assert.equal(soa.type, 'SOA')
  assert.equal(soa.data.serial, 2026112601)
  assert.equal(soa.data.mname, 'ns1.campus.test')
  assert.ok((soa.data.expire ?? 0) > (soa.data.refresh ?? 0) + (soa.data.retry ?? 0))
  assert.equal(soa.data.minimum, 5)
})

test('NS at the apex with glue in the additional section', () => {
  const a = wire(answer(q('campus.test', 'NS'), view))
  assert.deepEqual(data(a), ['ns1.campus.test'])
  assert.deepEqual((a.additionals ?? []).map((rr) => [rr.name, rr.type, 'data' in rr ? rr.data : null]), [['ns1.campus.test', 'A', '127.0.0.2']])
  assert.deepEqual(data(wire(answer(q('ns1.campus.test', 'A'), view))), ['127.0.0.2'])
})

test('SRV lists only live cells, with their router port, and their addresses as additional data', () => {
  const a = wire(answer(q('_organism._tcp.campus.test', 'SRV'), view))
  assert.deepEqual(data(a), [{ priority: 0, weight: 10, port: 8080, target: 'c-aaaaaa.campus.test' }])
  assert.deepEqual(data(a, 'additionals').sort(), ['127.0.0.2', 'fd00::2'])
  // A dead cell keeps its host record: its address did not change, only the SRV set drops it.
  assert.deepEqual(data(wire(answer(q('c-bbbbbb.campus.test', 'A'), view))), ['127.0.0.3'])
})

test('NXDOMAIN with the SOA in the authority section for an unknown name in the zone', () => {
  const a = wire(answer(q('nope.campus.test', 'A'), view))
  assert.equal(rcode(a), RCODE.NXDOMAIN)
  assert.ok(aa(a))
  assert.equal(a.answers?.length, 0)
  const soa = a.authorities?.[0] as SoaAnswer
  assert.equal(soa.type, 'SOA')
  assert.equal(soa.ttl, 5, 'negative TTL is min(SOA TTL, minimum), RFC 2308')
})

test('NODATA for a known name without that type, and for an empty non-terminal', () => {
  for (const [name, type] of [['catalog.campus.test', 'AAAA'], ['catalog.campus.test', 'MX'], ['_tcp.campus.test', 'A'], ['campus.test', 'A']]) {
    const a = wire(answer(q(name, type), view))
    assert.equal(rcode(a), RCODE.NOERROR, `${name} ${type}`)
    assert.equal(a.answers?.length, 0)
    assert.equal(a.authorities?.[0].type, 'SOA')
  }
})

test('REFUSED for names outside the zone (including a zone that merely ends the same way) and for other classes', () => {
  for (const name of ['example.org', 'notcampus.test', 'test']) {
    const a = answer(q(name, 'A'), view)
    assert.equal(rcode(a), RCODE.REFUSED, name)
    assert.equal(aa(a), false)
  }
  const chaos = answer({ id: 1, type: 'query', questions: [{ name: 'version.bind', type: 'TXT', class: 'CH' }] }, view)
  assert.equal(rcode(chaos), RCODE.REFUSED)
  assert.equal(rcode(answer(q('campus.test', 'AXFR'), view)), RCODE.REFUSED)
})

test('ANY gets one RRset (RFC 8482), not everything at the name', () => {
  const a = wire(answer(q('quiz.campus.test', 'ANY'), view))
  assert.deepEqual([...new Set((a.answers ?? []).map((rr) => rr.type))], ['A'])
  const apex = wire(answer(q('campus.test', 'ANY'), view))
  assert.deepEqual((apex.answers ?? []).map((rr) => rr.type), ['SOA'])
})

test('FORMERR for no question, several questions, or a meta type; NOTIMP for other opcodes', () => {
  assert.equal(rcode(answer({ id: 1, type: 'query', questions: [] }, view)), RCODE.FORMERR)
  const two = q('catalog.campus.test', 'A')
  two.questions?.push({ name: 'quiz.campus.test', type: 'A' })
  assert.equal(rcode(answer(two, view)), RCODE.FORMERR)
  assert.equal(rcode(answer(q('campus.test', 'OPT'), view)), RCODE.FORMERR)
  const notify = answer(q('campus.test', 'SOA', { flags: 4 << 11 }), view)
  assert.equal(rcode(notify), RCODE.NOTIMP)
  assert.equal(((notify.flags ?? 0) >> 11) & 0xf, 4, 'opcode echoed')
})

test('EDNS: an OPT is answered with an OPT; an unknown EDNS version gets BADVERS', () => {
  const opt = (ednsVersion: number): Answer => ({ name: '.', type: 'OPT', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion, flags: 0, flag_do: false, options: [] })
  const a = wire(answer(q('catalog.campus.test', 'A', { additionals: [opt(0)] }), view))
  const mine = a.additionals?.find((rr) => rr.type === 'OPT')
  assert.ok(mine != null && mine.type === 'OPT' && mine.udpPayloadSize === 1232)
  const bad = wire(answer(q('catalog.campus.test', 'A', { additionals: [opt(1)] }), view))
  const badOpt = bad.additionals?.find((rr) => rr.type === 'OPT')
  assert.ok(badOpt != null && badOpt.type === 'OPT' && badOpt.extendedRcode === 1, 'BADVERS = 16 = extended 1 << 4')
})

test('a UDP answer over 512 bytes without EDNS is truncated (TC) to its question; with room it is whole', () => {
  const many = Array.from({ length: 60 }, (_, i) => `10.0.${i >> 8}.${i & 255}`)
  const big = sampleView({ functions: [{ domain: 'big.campus.test', addresses: many }] })
  const response = answer(q('big.campus.test', 'A'), big)
  const small = encodeResponse(response, 512)
  assert.ok(small.truncated && small.bytes.length <= 512)
  const d = decode(small.bytes)
  assert.ok(((d.flags ?? 0) & TRUNCATED_RESPONSE) !== 0)
  assert.equal(d.questions?.[0].name, 'big.campus.test')
  assert.equal(d.answers?.length, 0)
  assert.equal(decode(encodeResponse(response, 65535).bytes).answers?.length, 60)
  // Additional data is dropped before the answer is truncated.
  const srv = sampleView({ cells: Array.from({ length: 5 }, (_, i) => ({ id: `${i}`, name: `c-${i}`, addresses: ['fd00::1:' + i.toString(16), `10.1.0.${i}`], routerPort: 8080, alive: true })) })
  const lean = encodeResponse(answer(q('_organism._tcp.campus.test', 'SRV'), srv), 512)
  assert.equal(lean.truncated, false)
  assert.equal(decode(lean.bytes).answers?.length, 5)
})

test('what answer() returns always encodes (rcode survives the round trip)', () => {
  for (const [name, type, want] of [['nope.campus.test', 'A', 'NXDOMAIN'], ['x.org', 'A', 'REFUSED']] as const) {
    const bytes = encode(answer(q(name, type), view))
    assert.equal((decode(bytes) as unknown as { rcode: string }).rcode, want)
  }
})
