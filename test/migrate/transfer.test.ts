// Moving a data directory over a real socket: exact copy, damaged data refused, a cut connection leaves nothing half-written.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { Transform } from 'node:stream'
import { mkdtemp, mkdir, writeFile, readFile, rm, stat, access } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sendDir, receiveDir } from '../../src/migrate/transfer.ts'
import { readFrames } from '../../src/migrate/frames.ts'
import { isOrganismError } from '../../src/core/errors.ts'
import { tree } from './helpers.ts'

async function fixture (t: { after: (fn: () => Promise<void>) => void }): Promise<{ base: string, src: string }> {
  const base = await mkdtemp(join(tmpdir(), 'organism-transfer-'))
  t.after(() => rm(base, { recursive: true, force: true }))
  const src = join(base, 'src')
  await mkdir(join(src, 'files', 'deep'), { recursive: true })
  await mkdir(join(src, 'empty'))
  await writeFile(join(src, 'posts.json'), JSON.stringify({ posts: [1, 2, 3] }))
  await writeFile(join(src, 'files', 'deep', 'big.bin'), randomBytes(3 * 1024 * 1024 + 17))
  await writeFile(join(src, 'files', 'small.txt'), 'hello')
  return { base, src }
}

/** Sends src through a socket (optionally through a damaging transform) and receives into dest. */
async function move (src: string, dest: string, tamper?: Transform, cutAfterBytes?: number): Promise<unknown> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as net.AddressInfo).port
  const received = (async () => {
    const [sock] = await once(server, 'connection') as [net.Socket]
    const input = tamper == null ? sock : sock.pipe(tamper)
    return await receiveDir(readFrames(input)[Symbol.asyncIterator](), dest)
  })()
  const client = net.connect(port, '127.0.0.1')
  await once(client, 'connect')
  let sent = 0
  if (cutAfterBytes != null) {
    const write = client.write.bind(client)
    client.write = ((chunk: Buffer, ...rest: never[]) => {
      sent += chunk.length
      if (sent > cutAfterBytes) { client.destroy(); return false }
      return write(chunk, ...rest)
    }) as typeof client.write
  }
  const sending = sendDir(src, client).then(() => client.end(), () => {})
  try { return await received } finally { await sending; server.close() }
}

test('a data directory arrives byte for byte, with its size and checksum', async (t) => {
  const { base, src } = await fixture(t)
  const dest = join(base, 'dest')
  const summary = await move(src, dest) as { bytes: number, sha256: string }
  assert.deepEqual(await tree(dest), await tree(src))
  assert.ok(summary.bytes > 3 * 1024 * 1024)
  assert.match(summary.sha256, /^[0-9a-f]{64}$/)
})

test('damaged data is refused and the destination is left as it was', async (t) => {
  const { base, src } = await fixture(t)
  const dest = join(base, 'dest')
  await mkdir(dest)
  await writeFile(join(dest, 'keep.txt'), 'previous')
  let flipped = false
  const flip = new Transform({
    transform (chunk: Buffer, _enc, cb) {
      if (!flipped && chunk.length > 1000) { chunk = Buffer.from(chunk); chunk[chunk.length - 1] ^= 0xff; flipped = true }
      cb(null, chunk)
    }
  })
  await assert.rejects(move(src, dest, flip), (err) => isOrganismError(err) && /MIGRATE_(CHECKSUM|ARCHIVE_FAILED|PROTOCOL)/.test(err.code))
  assert.equal(await readFile(join(dest, 'keep.txt'), 'utf8'), 'previous')
  await assert.rejects(access(`${dest}.incoming`))
})

test('a connection cut mid-copy leaves no half-written data', async (t) => {
  const { base, src } = await fixture(t)
  const dest = join(base, 'dest')
  await assert.rejects(move(src, dest, undefined, 1024 * 1024), (err) => isOrganismError(err) && /MIGRATE_(TRUNCATED|PROTOCOL)/.test(err.code))
  await assert.rejects(stat(dest))
  await assert.rejects(access(`${dest}.incoming`))
})
