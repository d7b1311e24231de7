// The bulk side path of a move over real sockets: data checked end to end, strangers refused, in-stream fallback when
// the side port cannot be reached, and a cut side transfer that leaves the old data dir in place.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import type { Duplex } from 'node:stream'
import { mkdtemp, mkdir, writeFile, readFile, readdir, rm, access } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sendOffered, receiveOffered } from '../../src/migrate/negotiate.ts'
import type { BulkHost, SendOptions } from '../../src/migrate/negotiate.ts'
import { connectBulk } from '../../src/migrate/bulk.ts'
import type { BulkOffer } from '../../src/migrate/bulk.ts'
import { readFrames } from '../../src/migrate/frames.ts'
import { isOrganismError } from '../../src/core/errors.ts'
import { tree } from './helpers.ts'

const LOCAL: BulkHost = { bindHost: '127.0.0.1', advertise: '127.0.0.1' }

async function fixture (t: { after: (fn: () => Promise<void>) => void }): Promise<{ base: string, src: string, dest: string }> {
  const base = await mkdtemp(join(tmpdir(), 'organism-bulk-'))
  t.after(() => rm(base, { recursive: true, force: true }))
  const src = join(base, 'src')
  await mkdir(join(src, 'files', 'deep'), { recursive: true })
  await writeFile(join(src, 'posts.json'), JSON.stringify({ posts: [1, 2, 3] }))
  await writeFile(join(src, 'files', 'deep', 'big.bin'), randomBytes(4 * 1024 * 1024 + 17))
  await writeFile(join(src, 'files', 'small.txt'), 'hello')
  const dest = join(base, 'dest')
  await mkdir(dest)
  await writeFile(join(dest, 'keep.txt'), 'previous')
  return { base, src, dest }
}

/**
 * A real TCP connection stands in for the member stream; the receiver offers (or not) and the sender answers.
 * Returns both sides' outcomes and how many bytes the member stream carried from the sender.
 */
async function moveOffered (src: string, dest: string, bulk: BulkHost | null, send: SendOptions = {}) {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  const a = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  const [[b]] = await Promise.all([accepted, once(a, 'connect')])
  const received = receiveOffered(b, readFrames(b)[Symbol.asyncIterator](), dest, bulk)
  const sent = sendOffered(a, readFrames(a)[Symbol.asyncIterator](), src, send)
  // As the mover does: a sender that fails drops the member stream, which tells the receiver at once.
  sent.catch(() => a.destroy())
  const [r, s] = await Promise.allSettled([received, sent])
  const memberBytes = a.bytesWritten
  a.destroy(); b.destroy(); server.close()
  return { r, s, memberBytes }
}

const value = <T>(x: PromiseSettledResult<T>): T => { if (x.status === 'rejected') throw x.reason as Error; return x.value }

/** Connecting to the offered port after it was used must fail: the server takes exactly one connection. */
async function portClosed (offer: BulkOffer): Promise<boolean> {
  const s = net.connect(offer.port, offer.host)
  try { await once(s, 'connect'); return false } catch { return true } finally { s.destroy() }
}

test('the bulk path carries the data, checked by size and sha256, and only the handshake uses the member stream', async (t) => {
  const { src, dest } = await fixture(t)
  let offered: BulkOffer | null = null
  const { r, s, memberBytes } = await moveOffered(src, dest, LOCAL, { connect: async (o) => { offered = o; return await connectBulk(o) } })
  const got = value(r)
  const sent = value(s)
  assert.equal(got.via, 'bulk')
  assert.equal(sent.via, 'bulk')
  assert.deepEqual({ bytes: got.bytes, sha256: got.sha256 }, { bytes: sent.bytes, sha256: sent.sha256 })
  assert.deepEqual(await tree(dest), await tree(src))
  assert.ok(memberBytes < 1024, `the member stream carried ${memberBytes} bytes`)
  assert.ok(offered != null && await portClosed(offered))
})

test('strangers and a wrong key are refused; the real transfer still arrives intact', async (t) => {
  const { src, dest } = await fixture(t)
  const strangers = async (offer: BulkOffer): Promise<Duplex> => {
    // Not TLS at all: the server drops it.
    const raw = net.connect(offer.port, offer.host)
    raw.on('error', () => {})
    await once(raw, 'connect')
    raw.write(Buffer.concat([Buffer.from([2, 0, 0, 0, 4]), Buffer.from('evil')]))
    await once(raw, 'close')
    const wrongKey = { ...offer, psk: randomBytes(32).toString('base64') }
    await assert.rejects(connectBulk(wrongKey), (e) => isOrganismError(e) && e.code === 'MIGRATE_BULK_UNREACHABLE')
    await assert.rejects(connectBulk({ ...offer, identity: 'someone-else' }), (e) => isOrganismError(e) && e.code === 'MIGRATE_BULK_UNREACHABLE')
    return await connectBulk(offer)
  }
  const { r, s } = await moveOffered(src, dest, LOCAL, { connect: strangers })
  assert.equal(value(r).via, 'bulk')
  assert.equal(value(s).via, 'bulk')
  assert.deepEqual(await tree(dest), await tree(src))
})

test('an unreachable bulk port falls back to the member stream', async (t) => {
  const { src, dest } = await fixture(t)
  const fallbacks: Error[] = []
  // Refused at once: the offer names an address where nothing listens.
  const refused = await moveOffered(src, dest, { bindHost: '127.0.0.1', advertise: '127.0.0.2' }, { onFallback: (e) => fallbacks.push(e) })
  assert.equal(value(refused.r).via, 'stream')
  assert.equal(value(refused.s).via, 'stream')
  assert.deepEqual(await tree(dest), await tree(src))

  // A firewall that swallows the handshake: a port that accepts TCP and never answers; the sender gives up after ~2 s.
  const sink = net.createServer(() => {}).listen(0, '127.0.0.1')
  await once(sink, 'listening')
  t.after(() => { sink.close() })
  const sinkPort = (sink.address() as net.AddressInfo).port
  const t0 = performance.now()
  const swallowed = await moveOffered(src, dest, LOCAL, { connect: async (o) => await connectBulk({ ...o, port: sinkPort }), onFallback: (e) => fallbacks.push(e) })
  const ms = performance.now() - t0
  assert.equal(value(swallowed.s).via, 'stream')
  assert.equal(value(swallowed.r).via, 'stream')
  // It waited for its handshake deadline (no upper bound: a loaded machine is only slower), and says that was why.
  assert.ok(ms >= 1900, `fell back after ${ms.toFixed(0)} ms, before the 2 s handshake deadline`)
  assert.deepEqual(fallbacks.map((e) => isOrganismError(e) ? e.code : e.message), ['MIGRATE_BULK_UNREACHABLE', 'MIGRATE_BULK_UNREACHABLE'])
  assert.match(fallbacks[1].message, /no TLS handshake with .* within 2000 ms/)
  assert.deepEqual(await tree(dest), await tree(src))
})

test('a receiver that offers nothing gets the data in-stream', async (t) => {
  const { src, dest } = await fixture(t)
  const { r, s } = await moveOffered(src, dest, null)
  assert.equal(value(r).via, 'stream')
  assert.equal(value(s).via, 'stream')
  assert.deepEqual(await tree(dest), await tree(src))
})

test('a side transfer cut mid-copy fails cleanly and leaves the old data dir in place', async (t) => {
  const { src, dest } = await fixture(t)
  const cut = async (offer: BulkOffer): Promise<Duplex> => {
    const sock = await connectBulk(offer)
    let sent = 0
    const write = sock.write.bind(sock)
    sock.write = ((chunk: Buffer, ...rest: never[]) => {
      sent += chunk.length
      if (sent > 1024 * 1024) { sock.destroy(); return false }
      return write(chunk, ...rest)
    }) as typeof sock.write
    return sock
  }
  const { r, s } = await moveOffered(src, dest, LOCAL, { connect: cut })
  assert.equal(r.status, 'rejected')
  assert.equal(s.status, 'rejected')
  const code = (x: PromiseSettledResult<unknown>): string => x.status === 'rejected' && isOrganismError(x.reason) ? x.reason.code : String((x as PromiseRejectedResult).reason)
  assert.match(code(r), /^MIGRATE_(TRUNCATED|PROTOCOL)$/)
  assert.match(code(s), /^MIGRATE_TRUNCATED$/)
  assert.deepEqual(await readdir(dest), ['keep.txt'])
  assert.equal(await readFile(join(dest, 'keep.txt'), 'utf8'), 'previous')
  await assert.rejects(access(`${dest}.incoming`))
})
