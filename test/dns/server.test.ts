// The UDP+TCP server, queried with the real `dig`; bad packets and a fake primary with a forged TSIG answer.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { connect, createServer } from 'node:net'
import type { TestContext } from 'node:test'
import { encode, decode } from 'dns-packet'
import { createDnsServer, pushRecords, isDnsError } from './imports.ts'
import type { ZoneView } from '../../src/dns/index.ts'
import { Deframer, frame } from '../../src/dns/wire.ts'
import { dig, digShort } from './helpers.ts'
import { sampleView } from './fixtures.ts'

async function startServer (t: TestContext, view: () => ZoneView, options: { tcpIdleTimeoutMs?: number } = {}): Promise<ReturnType<typeof createDnsServer>> {
  const server = createDnsServer({ port: 0, host: '127.0.0.1', view, ...options })
  await server.start()
  t.after(() => server.stop())
  return server
}

for (const transport of ['udp', 'tcp'] as const) {
  test(`dig over ${transport}: A, AAAA, NS with glue, SOA serial, SRV, NXDOMAIN with SOA, REFUSED`, async (t) => {
    const server = await startServer(t, () => sampleView())
    const extra = transport === 'tcp' ? ['+tcp'] : ['+notcp']
    const a = await dig(server.port, [...extra, 'catalog.campus.test', 'A'])
    assert.equal(a.status, 'NOERROR')
    assert.ok(a.flags.includes('aa'), a.raw)
    assert.ok(a.raw.includes(transport === 'tcp' ? '(TCP)' : '(UDP)'), a.raw)
    assert.deepEqual(a.answer, ['catalog.campus.test. 5 IN A 127.0.0.2'])
    assert.deepEqual(await digShort(server.port, [...extra, 'quiz.campus.test', 'AAAA']), ['fd00::2'])
    const ns = await dig(server.port, [...extra, 'campus.test', 'NS'])
    assert.deepEqual(ns.answer, ['campus.test. 300 IN NS ns1.campus.test.'])
    assert.deepEqual(ns.additional, ['ns1.campus.test. 300 IN A 127.0.0.2'])
    assert.deepEqual(await digShort(server.port, [...extra, 'campus.test', 'SOA']), ['ns1.campus.test. hostmaster.campus.test. 42 300 60 86400 5'])
    assert.deepEqual(await digShort(server.port, [...extra, '_organism._tcp.campus.test', 'SRV']), ['0 10 8080 c-aaaaaa.campus.test.'])
    const nx = await dig(server.port, [...extra, 'missing.campus.test', 'A'])
    assert.equal(nx.status, 'NXDOMAIN')
    assert.ok(nx.flags.includes('aa'))
    assert.deepEqual(nx.authority, ['campus.test. 5 IN SOA ns1.campus.test. hostmaster.campus.test. 42 300 60 86400 5'])
    const nodata = await dig(server.port, [...extra, 'catalog.campus.test', 'AAAA'])
    assert.equal(nodata.status, 'NOERROR')
    assert.deepEqual(nodata.answer, [])
    assert.equal(nodata.authority.length, 1)
    const refused = await dig(server.port, [...extra, 'www.example.org', 'A'])
    assert.equal(refused.status, 'REFUSED')
    assert.ok(!refused.flags.includes('aa'))
  })
}

test('the serial and the answers follow the view as it changes', async (t) => {
  let view = sampleView()
  const server = await startServer(t, () => view)
  assert.deepEqual(await digShort(server.port, ['catalog.campus.test']), ['127.0.0.2'])
  view = sampleView({ serial: 43, functions: [{ domain: 'catalog.campus.test', addresses: ['127.0.0.3'] }] })
  assert.deepEqual(await digShort(server.port, ['catalog.campus.test']), ['127.0.0.3'])
  assert.match((await digShort(server.port, ['campus.test', 'SOA']))[0], / 43 /)
})

test('a big answer is truncated over UDP without EDNS, and dig retries over TCP to get it whole', async (t) => {
  const many = Array.from({ length: 80 }, (_, i) => `10.0.0.${i + 1}`)
  const server = await startServer(t, () => sampleView({ functions: [{ domain: 'big.campus.test', addresses: many }] }))
  const cut = await dig(server.port, ['+noedns', '+ignore', 'big.campus.test'])
  assert.ok(cut.flags.includes('tc'), cut.raw)
  assert.deepEqual(cut.answer, [])
  assert.equal((await digShort(server.port, ['+noedns', 'big.campus.test'])).length, 80)
  assert.equal((await digShort(server.port, ['+bufsize=4096', 'big.campus.test'])).length, 80, 'fits in an EDNS answer of 1232 bytes')
  assert.ok(server.stats().truncated >= 2)
})

test('malformed UDP packets (and a flood of them) do not crash the server; the next query is answered', async (t) => {
  const server = await startServer(t, () => sampleView())
  const client = createSocket('udp4')
  t.after(() => client.close())
  const replies: Buffer[] = []
  client.on('message', (m) => replies.push(m))
  const send = async (b: Buffer): Promise<void> => { await new Promise<void>((resolve, reject) => client.send(b, server.port, '127.0.0.1', (err) => err == null ? resolve() : reject(err))) }
  // A header that claims one question, followed by a name that runs off the end.
  const broken = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 63, 0x61])
  await send(broken)
  // The flood shares this process's event loop with the server, so it yields now and then as a sender in
  // another process would; otherwise the kernel's receive buffer fills and drops dig's query too.
  for (let i = 0; i < 2000; i++) {
    await send(Buffer.from(Array.from({ length: i % 40 }, (_, j) => (i * 31 + j * 7) & 0xff)))
    if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 1))
  }
  const after = await dig(server.port, ['catalog.campus.test'])
  assert.deepEqual(after.answer, ['catalog.campus.test. 5 IN A 127.0.0.2'], after.raw + JSON.stringify(server.stats()))
  const formerr = replies.find((r) => r.readUInt16BE(0) === 0x1234)
  assert.ok(formerr != null, 'a packet with a readable header gets a FORMERR')
  assert.equal(formerr.readUInt16BE(2) & 0x800f, 0x8001)
  const stats = server.stats()
  assert.ok(stats.formerr >= 1 && stats.dropped >= 1, JSON.stringify(stats))
})

test('TCP: several queries on one connection, answered in order; idle connections are closed', async (t) => {
  const server = await startServer(t, () => sampleView(), { tcpIdleTimeoutMs: 300 })
  const socket = connect({ host: '127.0.0.1', port: server.port })
  t.after(() => socket.destroy())
  await new Promise<void>((resolve) => socket.once('connect', resolve))
  const names = ['catalog.campus.test', 'quiz.campus.test', 'missing.campus.test']
  // All three in one write, the last split across two writes, to exercise the deframer.
  const wire = Buffer.concat(names.map((name, i) => frame(encode({ id: i + 1, type: 'query', questions: [{ name, type: 'A' }] }))))
  socket.write(wire.subarray(0, wire.length - 5))
  setTimeout(() => socket.write(wire.subarray(wire.length - 5)), 20)
  const deframer = new Deframer()
  const got: Array<{ id?: number, rcode: string }> = []
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  socket.on('data', (c: Buffer) => { for (const m of deframer.push(c)) { const d = decode(m) as unknown as { id: number, rcode: string }; got.push({ id: d.id, rcode: d.rcode }) } })
  const started = Date.now()
  await closed
  assert.deepEqual(got, [{ id: 1, rcode: 'NOERROR' }, { id: 2, rcode: 'NOERROR' }, { id: 3, rcode: 'NXDOMAIN' }])
  assert.ok(Date.now() - started < 5000, 'the idle connection was closed by the server')
})

test('stop() frees the port and start() on a taken port fails with DNS_LISTEN_FAILED', async (t) => {
  const first = await startServer(t, () => sampleView())
  const second = createDnsServer({ port: first.port, view: () => sampleView() })
  await assert.rejects(second.start(), (err: unknown) => isDnsError(err, 'DNS_LISTEN_FAILED'))
  await first.stop()
  await second.start()
  t.after(() => second.stop())
  assert.deepEqual(await digShort(second.port, ['catalog.campus.test']), ['127.0.0.2'])
})

test('a primary whose answer carries a MAC that does not verify gives DNS_TSIG_RESPONSE_INVALID', async (t) => {
  // Echoes the request as a NOERROR response, TSIG record included: a MAC computed over the wrong data.
  const fake = createServer((conn) => {
    const deframer = new Deframer()
    conn.on('data', (c: Buffer) => {
      for (const m of deframer.push(c)) {
        const r = Buffer.from(m)
        r.writeUInt16BE(r.readUInt16BE(2) | 0x8000, 2)
        conn.write(frame(r))
      }
    })
  })
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => fake.close(() => resolve())))
  const port = (fake.address() as { port: number }).port
  const key = { name: 'organism-key', algorithm: 'hmac-sha256' as const, secret: Buffer.alloc(32, 3).toString('base64') }
  await assert.rejects(pushRecords({ server: { host: '127.0.0.1', port }, zone: 'campus.test', key, records: [{ name: 'a.campus.test', type: 'A', ttl: 5, data: '127.0.0.1' }] }),
    (err: unknown) => isDnsError(err, 'DNS_TSIG_RESPONSE_INVALID') && /does not verify/.test(err.message))
})
