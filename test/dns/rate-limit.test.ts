// Response rate limiting (real UDP and dig): a source that asks faster than its budget gets a few truncated replies
// and silence for the rest, so the cell cannot be used to flood a spoofed address; TCP answers it in full.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { encode, decode } from 'dns-packet'
import { createDnsServer } from './imports.ts'
import { createRateLimiter, sourceNetwork } from '../../src/dns/rate-limit.ts'
import { dig } from './helpers.ts'
import { sampleView } from './fixtures.ts'

test('40 queries at once from one source: its budget answered, every 2nd of the rest truncated, the others dropped; TCP still answers', async (t) => {
  const server = createDnsServer({ port: 0, host: '127.0.0.1', view: () => sampleView(), rateLimit: { ratePerSec: 0.01, burst: 5, slip: 2 } })
  await server.start()
  t.after(async () => { await server.stop() })
  const sock = createSocket('udp4')
  t.after(() => { sock.close() })
  const replies: Array<{ tc: boolean, answers: number }> = []
  sock.on('message', (m) => { const d = decode(m); replies.push({ tc: (d.flags ?? 0) & 0x200 ? true : false, answers: d.answers?.length ?? 0 }) })
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve))
  for (let i = 0; i < 40; i++) sock.send(encode({ type: 'query', id: i + 1, questions: [{ type: 'A', name: 'catalog.campus.test' }] }), server.port, '127.0.0.1')
  await new Promise((r) => setTimeout(r, 500))
  const full = replies.filter((r) => !r.tc && r.answers > 0).length
  const slipped = replies.filter((r) => r.tc && r.answers === 0).length
  assert.equal(full, 5, 'the burst is answered')
  assert.equal(slipped, 17, 'every 2nd of the 35 over budget gets an empty truncated reply')
  assert.equal(replies.length, 22, 'the other 18 get nothing')
  assert.equal(server.stats().rateLimited, 35)
  // A real client told to retry over TCP gets its answer there.
  const overTcp = await dig(server.port, ['+tcp', 'catalog.campus.test', 'A'])
  assert.equal(overTcp.status, 'NOERROR')
  assert.ok(overTcp.answer.length > 0)
})

test('budgets are per source network (/24, /48), and a flood of sources cannot grow the table without bound', () => {
  assert.equal(sourceNetwork('10.1.2.3'), '10.1.2.0/24')
  assert.equal(sourceNetwork('::ffff:10.1.2.3'), '10.1.2.0/24')
  assert.equal(sourceNetwork('2001:db8:aa:1::5'), '2001:db8:aa::/48')
  const rl = createRateLimiter({ ratePerSec: 1, burst: 2, slip: 0, maxSources: 3 })
  assert.deepEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((a) => rl.decide(a, 0)), ['answer', 'answer', 'drop'], 'one /24, one budget')
  assert.equal(rl.decide('10.0.1.1', 0), 'answer', 'another network has its own')
  assert.equal(rl.decide('10.0.0.9', 1000), 'answer', 'the budget refills at its rate')
})
