// RFC 2136 pushes signed with our own TSIG, against a real BIND 9 primary started (and stopped) by the test.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pushRecords, placementRecords, isDnsError } from './imports.ts'
import { startNamed, digShort } from './helpers.ts'
import { sampleView } from './fixtures.ts'

const zone = 'campus.test'

test('push records, then push a changed placement: dig shows the new address and not the old one', async (t) => {
  const named = await startNamed(t, zone)
  const server = { host: '127.0.0.1', port: named.port }
  const first = placementRecords(sampleView())
  const result = await pushRecords({ server, zone, key: named.key, records: first })
  assert.ok(result.added > 0)
  assert.deepEqual(await digShort(named.port, ['catalog.campus.test', 'A']), ['127.0.0.2'])
  assert.deepEqual(await digShort(named.port, ['quiz.campus.test', 'AAAA']), ['fd00::2'])
  assert.deepEqual(await digShort(named.port, ['_organism._tcp.campus.test', 'SRV']), ['0 10 8080 c-aaaaaa.campus.test.'])

  // catalog moves to cell b; cell a dies, so quiz loses its addresses and the SRV set loses a.
  const moved = sampleView({
    cells: [{ id: 'cell-a', name: 'c-aaaaaa', addresses: ['127.0.0.2'], routerPort: 8080, alive: false }, { id: 'cell-b', name: 'c-bbbbbb', addresses: ['127.0.0.3'], routerPort: 8081, alive: true }],
    functions: [{ domain: 'catalog.campus.test', addresses: ['127.0.0.3'] }]
  })
  await pushRecords({ server, zone, key: named.key, records: placementRecords(moved), previous: first })
  assert.deepEqual(await digShort(named.port, ['catalog.campus.test', 'A']), ['127.0.0.3'])
  assert.deepEqual(await digShort(named.port, ['quiz.campus.test', 'A']), [], 'a name we no longer publish is gone')
  assert.deepEqual(await digShort(named.port, ['c-aaaaaa.campus.test', 'AAAA']), [], 'an address family that went away is gone')
  assert.deepEqual(await digShort(named.port, ['_organism._tcp.campus.test', 'SRV']), ['0 10 8081 c-bbbbbb.campus.test.'])
  assert.deepEqual(await digShort(named.port, ['static.campus.test', 'A']), ['192.0.2.99'], 'names we do not own are untouched')
  const serial = Number((await digShort(named.port, ['campus.test', 'SOA']))[0].split(' ')[2])
  assert.ok(serial >= 3, `BIND bumps the serial on each update (got ${serial})`)
})

test('a wrong secret or an unknown key gives DNS_TSIG_REJECTED, and the zone is unchanged', async (t) => {
  const named = await startNamed(t, zone)
  const server = { host: '127.0.0.1', port: named.port }
  const records = placementRecords(sampleView())
  const wrongSecret = { ...named.key, secret: Buffer.alloc(32, 7).toString('base64') }
  await assert.rejects(pushRecords({ server, zone, key: wrongSecret, records }), (err: unknown) => {
    assert.ok(isDnsError(err, 'DNS_TSIG_REJECTED'), String(err))
    assert.match(err.message, /127\.0\.0\.1:\d+/)
    assert.match(err.message, /NOTAUTH\/BADSIG/)
    assert.match(err.hint, /secret/)
    return true
  })
  await assert.rejects(pushRecords({ server, zone, key: { ...named.key, name: 'nobody' }, records }), (err: unknown) =>
    isDnsError(err, 'DNS_TSIG_REJECTED') && /BADKEY/.test(err.message))
  assert.deepEqual(await digShort(named.port, ['catalog.campus.test', 'A']), [])
  assert.equal((await digShort(named.port, ['campus.test', 'SOA']))[0].split(' ')[2], '1')
})

test('a zone the server is not primary for gives DNS_UPDATE_REJECTED with the rcode and a hint', async (t) => {
  const named = await startNamed(t, zone)
  const view = sampleView({ zone: 'other.test', functions: [{ domain: 'x.other.test', addresses: ['127.0.0.9'] }], cells: [] })
  await assert.rejects(pushRecords({ server: { host: '127.0.0.1', port: named.port }, zone: 'other.test', key: named.key, records: placementRecords(view) }), (err: unknown) => {
    assert.ok(isDnsError(err, 'DNS_UPDATE_REJECTED'), String(err))
    assert.match(err.message, /NOTAUTH|REFUSED/)
    assert.ok(err.hint.length > 20)
    return true
  })
})

test('nothing listening gives DNS_UPDATE_UNREACHABLE; records outside the zone are refused before sending', async () => {
  const key = { name: 'k', algorithm: 'hmac-sha256' as const, secret: Buffer.alloc(32, 1).toString('base64') }
  await assert.rejects(pushRecords({ server: { host: '127.0.0.1', port: 1 }, zone, key, records: [] }), (err: unknown) => isDnsError(err, 'DNS_UPDATE_UNREACHABLE'))
  await assert.rejects(pushRecords({ server: { host: '127.0.0.1', port: 1 }, zone, key, records: [{ name: 'x.example.org', type: 'A', ttl: 5, data: '127.0.0.1' }] }),
    (err: unknown) => isDnsError(err, 'DNS_INVALID_RECORD'))
  await assert.rejects(pushRecords({ server: { host: '127.0.0.1', port: 1 }, zone, key: { ...key, secret: 'not base64!' }, records: [] }),
    (err: unknown) => isDnsError(err, 'DNS_INVALID_KEY'))
})
