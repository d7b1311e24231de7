// A received data dir is data (real GNU tar on both ends): archives a sender made from what a data dir may not
// hold are refused whole, before tar writes a byte, and what was there stays; ordinary ones, long names and pax
// headers included, land with the receiver as their owner.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmod, link, mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { capFor, receiveRaw } from '../../src/migrate/transfer.ts'
import { tarChecker } from '../../src/migrate/tar-check.ts'
import { isOrganismError } from '../../src/core/errors.ts'
import { tempDir } from '../genome/helpers.ts'

const tar = (cwd: string, args: string[]): Buffer => execFileSync('tar', args, { cwd, maxBuffer: 64 * 1024 * 1024 })

/** Feeds the archive in odd-sized chunks (headers split across them), with its true trailer. */
async function receive (archive: Buffer, dest: string, maxFileBytes: number | null = null): Promise<unknown> {
  async function * chunks (): AsyncGenerator<Buffer> { for (let at = 0; at < archive.length; at += 777) yield archive.subarray(at, at + 777) }
  const trailer = { bytes: archive.length, sha256: createHash('sha256').update(archive).digest('hex') }
  return await receiveRaw(chunks(), async () => trailer, dest, { maxFileBytes })
}

function refusedFor (...mentions: string[]): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(isOrganismError(e, 'MIGRATE_DATA_REFUSED'), `expected MIGRATE_DATA_REFUSED, got ${(e as Error).message}`)
    for (const m of mentions) assert.ok(e.message.includes(m), `"${e.message}" should mention ${m}`)
    return true
  }
}

async function withDest (root: string): Promise<string> {
  const dest = join(root, 'dest')
  await mkdir(dest, { recursive: true })
  await writeFile(join(dest, 'before.db'), 'the data that was here')
  return dest
}

async function unchanged (dest: string): Promise<void> {
  assert.deepEqual(await readdir(dest), ['before.db'])
  assert.equal(await readFile(join(dest, 'before.db'), 'utf8'), 'the data that was here')
  assert.equal(await stat(`${dest}.incoming`).catch(() => null), null, 'nothing half-received is left')
}

test('symlinks out, hard links, fifos, devices, setuid files and paths outside are refused whole', async (t) => {
  const root = await tempDir(t, 'organism-refused-')
  const cases: Array<[string, (src: string) => Promise<string[]>, string]> = [
    ['an absolute symlink', async (src) => { await symlink('/etc/passwd', join(src, 'pw')); return ['-cf', '-', '.'] }, 'symlink out of the folder'],
    ['a symlink that climbs', async (src) => { await symlink('../../x', join(src, 'up')); return ['-cf', '-', '.'] }, 'symlink out of the folder'],
    ['a hard link', async (src) => { await writeFile(join(src, 'a'), 'a'); await link(join(src, 'a'), join(src, 'b')); return ['-cf', '-', '.'] }, 'hard link'],
    ['a fifo', async (src) => { execFileSync('mkfifo', [join(src, 'pipe')]); return ['-cf', '-', '.'] }, 'fifo'],
    ['a setuid file', async (src) => { await writeFile(join(src, 'run'), '#!/bin/sh\n'); await chmod(join(src, 'run'), 0o4755); return ['-cf', '-', '.'] }, 'setuid'],
    ['a setgid dir', async (src) => { await mkdir(join(src, 'shared')); await chmod(join(src, 'shared'), 0o2775); return ['-cf', '-', '.'] }, 'setuid, setgid or sticky'],
    ['an absolute path', async (src) => { await writeFile(join(src, 'abs'), 'x'); return ['-cPf', '-', join(src, 'abs')] }, 'is absolute'],
    ['a path with ..', async (src) => { await mkdir(join(src, 'in')); await writeFile(join(src, 'out'), 'x'); return ['-C', join(src, 'in'), '-cPf', '-', '../out'] }, 'climbs out']
  ]
  if (process.getuid?.() === 0) cases.push(['a device', async (src) => { execFileSync('mknod', [join(src, 'null'), 'c', '1', '3']); return ['-cf', '-', '.'] }, 'character device'])
  for (const [what, make, why] of cases) {
    const src = join(root, `src-${cases.findIndex((c) => c[0] === what)}`)
    await mkdir(src)
    await writeFile(join(src, 'ok.txt'), 'fine')
    const archive = tar(src, await make(src))
    const dest = await withDest(join(root, `case-${what.replace(/\W+/g, '-')}`))
    await assert.rejects(receive(archive, dest), refusedFor(why), what)
    await unchanged(dest)
  }
})

test('more file bytes than the sender announced (+10 %) are refused, at the file that passes the cap', async (t) => {
  const root = await tempDir(t, 'organism-refused-')
  const src = join(root, 'src')
  await mkdir(src)
  await writeFile(join(src, 'a.bin'), Buffer.alloc(60_000, 1))
  await writeFile(join(src, 'b.bin'), Buffer.alloc(60_000, 2))
  const archive = tar(src, ['-cf', '-', 'a.bin', 'b.bin'])
  const dest = await withDest(join(root, 'over'))
  await assert.rejects(receive(archive, dest, 100_000), refusedFor('b.bin', 'cap of 100000 bytes'))
  await unchanged(dest)
  // The genome's max_data bounds it even when the sender announces more; an older sender that announces nothing gets
  // the genome's bound alone.
  assert.equal(capFor(120_000), 132_000)
  assert.equal(capFor(120_000, 100_000), 100_000)
  assert.equal(capFor(undefined, 100_000), 100_000)
  assert.equal(capFor('lots'), null)
  const bounded = await withDest(join(root, 'bounded'))
  await assert.rejects(receive(archive, bounded, capFor(120_000, 100_000)), refusedFor('b.bin'))
  await unchanged(bounded)
  const ok = await withDest(join(root, 'exact'))
  await receive(archive, ok, Math.ceil(120_000 * 1.1))
  assert.equal((await stat(join(ok, 'b.bin'))).size, 60_000)
})

test('an ordinary data dir lands whole: deep long names (GNU and pax), symlinks inside, the receiver as owner', async (t) => {
  const root = await tempDir(t, 'organism-refused-')
  const src = join(root, 'src')
  const deep = join(src, 'a'.repeat(90), 'b'.repeat(90), 'c'.repeat(40))
  await mkdir(deep, { recursive: true })
  await writeFile(join(deep, `${'f'.repeat(120)}.json`), '{"deep":true}')
  await writeFile(join(src, 'db.sqlite'), Buffer.alloc(5000, 7))
  await symlink('db.sqlite', join(src, 'current'))
  await symlink(join('a'.repeat(90), 'b'.repeat(90)), join(src, 'shortcut'))
  for (const format of ['gnu', 'pax']) {
    const owned = process.getuid?.() === 0 ? ['--owner=4321', '--group=4321'] : []
    const archive = tar(src, [`--format=${format}`, ...owned, '-cf', '-', '.'])
    const dest = join(root, `dest-${format}`)
    await receive(archive, dest, 5000 + 13)
    assert.equal(await readFile(join(dest, 'a'.repeat(90), 'b'.repeat(90), 'c'.repeat(40), `${'f'.repeat(120)}.json`), 'utf8'), '{"deep":true}', format)
    assert.equal((await readFile(join(dest, 'current'))).length, 5000)
    assert.equal((await stat(join(dest, 'db.sqlite'))).uid, process.getuid?.(), `${format}: the receiver owns what it received`)
  }
  // The checker alone, byte by byte: the same verdict whatever the chunking.
  const check = tarChecker(null)
  for (const b of tar(src, ['-cf', '-', '.'])) check.push(Buffer.from([b]))
  assert.equal(check.fileBytes(), 5000 + 13)
})
