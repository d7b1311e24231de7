// One suite for both executors (SSH to a lab host, local in a directory); pinning, `hosts add` and the claim race over SSH.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { createLab } from '../../src/lab/index.ts'
import type { Lab } from '../../src/lab/index.ts'
import { LocalExecutor, SshExecutor, addHost, claimHost, releaseHost, loadPool, makeRuntimePacks, findRuntimePacks, pickPack } from '../../src/imprint/index.ts'
import type { Executor } from '../../src/imprint/index.ts'
import { clientKey, hostState, isRoot, poolHost } from './helpers.ts'

/** The one suite both executors must pass: the SSH one against a lab host, the local one in a directory. */
async function exerciseExecutor (ex: Executor, home: string): Promise<void> {
  const r = await ex.exec('echo out; echo err >&2; exit 3')
  assert.deepEqual(r, { code: 3, stdout: 'out\n', stderr: 'err\n' })
  assert.equal((await ex.exec('cat', { stdin: 'from stdin' })).stdout, 'from stdin')
  assert.equal((await ex.exec('echo "$HOME"')).stdout.trim(), home)
  await assert.rejects(ex.exec('sleep 5', { timeoutMs: 200 }), { code: 'IMPRINT_TIMEOUT' })
  const ac = new AbortController()
  setTimeout(() => ac.abort(), 100)
  await assert.rejects(ex.exec('sleep 5', { signal: ac.signal }), { code: 'IMPRINT_ABORTED' })
  const dir = await mkdtemp(join(tmpdir(), 'imprint-put-'))
  const src = join(dir, 'f')
  await writeFile(src, 'x'.repeat(300_000))
  assert.equal(await ex.put(src, `${home}/put-file`, 0o640), 300_000)
  assert.equal(await ex.put(Readable.from(['secret']), `${home}/put-stream`, 0o600), 6)
  const st = await ex.exec(`stat -c '%a %s' "$HOME/put-file" "$HOME/put-stream"; rm -f "$HOME/put-file" "$HOME/put-stream"`)
  assert.equal(st.stdout, '640 300000\n600 6\n')
  // A packed runtime is unpacked on the host as it arrives; a damaged pack fails the copy (both formats check a sum).
  const packs = await makeRuntimePacks(join(dir, 'cache'), src)
  for (const format of ['zstd', 'gzip'] as const) {
    assert.equal(await ex.put(packs[format]!, `${home}/unpacked`, 0o755, { unpack: format }) < 300_000, true, `${format} sent fewer bytes than the file holds`)
    assert.equal((await ex.exec(`stat -c '%a %s' "$HOME/unpacked"; rm -f "$HOME/unpacked"`)).stdout, '755 300000\n')
    const damaged = join(dir, `damaged-${format}`)
    const bytes = await readFile(packs[format]!)
    bytes[bytes.length - 6] ^= 0xff
    await writeFile(damaged, bytes)
    await assert.rejects(ex.put(damaged, `${home}/unpacked`, 0o755, { unpack: format }), { code: 'IMPRINT_COPY_FAILED' })
    await ex.exec('rm -f "$HOME/unpacked"')
  }
  // Only a copy of the expected size reaches `after` (which moves it into place in imprint).
  await assert.rejects(ex.put(src, `${home}/short`, 0o600, { expectBytes: 300_001, after: 'touch "$HOME/after-ran"' }), { code: 'IMPRINT_COPY_FAILED' })
  // Aborted while the channel is still opening: the command on the host gets no input and must not finish the copy.
  const early = new AbortController()
  const putting = ex.put(src, `${home}/aborted`, 0o600, { signal: early.signal, expectBytes: 300_000, after: 'touch "$HOME/after-ran"' })
  early.abort()
  await assert.rejects(putting, { code: 'IMPRINT_ABORTED' })
  await new Promise((resolve) => setTimeout(resolve, 500))
  assert.equal((await ex.exec('test -e "$HOME/after-ran"')).code, 1, 'the command after a short copy never ran')
  await ex.exec('rm -f "$HOME/short" "$HOME/aborted"')
  // The executor still works after a timed-out and an aborted command.
  assert.equal((await ex.exec('echo still')).stdout, 'still\n')
  await rm(dir, { recursive: true, force: true })
}

test('runtime packs: made once per binary (named for its size and mtime), picked by what the host can unpack', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'imprint-pack-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const bin = join(dir, 'node')
  await writeFile(bin, 'binary '.repeat(10_000))
  const cache = join(dir, 'cache')
  assert.deepEqual(await findRuntimePacks(cache, bin), {})
  // What a cell prepares ahead of a division: zstd only (gzip once a host lacks zstd).
  assert.deepEqual(Object.keys(await makeRuntimePacks(cache, bin, ['zstd'])), ['zstd'])
  const packs = await makeRuntimePacks(cache, bin)
  assert.deepEqual(await findRuntimePacks(cache, bin), packs)
  assert.match(packs.zstd!, /node-linux-\w+-70000-\d+\.zst$/)
  assert.equal(pickPack(packs, { zstd: true, gzip: true })?.format, 'zstd')
  assert.equal(pickPack(packs, { zstd: false, gzip: true })?.format, 'gzip')
  assert.equal(pickPack(packs, { zstd: false, gzip: false }), null)
  assert.equal(pickPack({ gzip: packs.gzip }, { zstd: true, gzip: false }), null)
  // A new binary (another size) has no packs yet.
  await writeFile(bin, 'another node')
  assert.deepEqual(await findRuntimePacks(cache, bin), {})
})

test('local executor: the shared suite', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'imprint-local-'))
  const ex = new LocalExecutor(home)
  t.after(async () => { await ex.close(); await rm(home, { recursive: true, force: true }) })
  assert.match(ex.name, /^local \(no SSH\)/)
  await exerciseExecutor(ex, home)
})

test('ssh suite', { skip: !isRoot && 'the netns lab needs root' }, async (t) => {
  const l: Lab = await createLab({ hosts: 2 })
  t.after(async () => { await l.destroy() })
  const h1 = l.host('h1')
  const h2 = l.host('h2')
  const key = clientKey(l)

  await t.test('ssh executor: the shared suite', async () => {
    const ex = await SshExecutor.connect(poolHost(h1), { privateKey: key, fingerprint: poolHost(h1).fingerprint })
    assert.equal(ex.name, `ssh://${h1.user}@${h1.address}`)
    try { await exerciseExecutor(ex, h1.home) } finally { await ex.close() }
  })

  await t.test('a host showing another key is refused, naming both keys, and nothing is written to it', async () => {
    const before = await hostState(l, 'h1')
    // h2's pin used for h1: the key h1 shows does not match.
    const wrong = { ...poolHost(h1), fingerprint: poolHost(h2).fingerprint }
    await assert.rejects(SshExecutor.connect(wrong, { privateKey: key, fingerprint: wrong.fingerprint }), (err: Error & { code: string }) => {
      assert.equal(err.code, 'IMPRINT_HOST_KEY_MISMATCH')
      assert.ok(err.message.includes(h1.fingerprint) && err.message.includes(h2.fingerprint), err.message)
      return true
    })
    assert.deepEqual(await hostState(l, 'h1'), before)
  })

  await t.test('hosts add: pins a matching key, refuses an unknown one without the flag, TOFU with it; file is 0600', async () => {
    const state = await mkdtemp(join(tmpdir(), 'imprint-state-'))
    const url = `ssh://${h1.user}@${h1.address}:${h1.sshPort}`
    await assert.rejects(addHost(state, url, { privateKey: key }), (err: Error & { code: string }) => err.code === 'IMPRINT_HOST_KEY_UNKNOWN' && err.message.includes(h1.fingerprint))
    await assert.rejects(addHost(state, url, { privateKey: key, hostKey: h2.hostKey }), { code: 'IMPRINT_HOST_KEY_MISMATCH' })
    const printed: string[] = []
    const added = await addHost(state, url, { privateKey: key, acceptNewHostKey: true, print: (s) => printed.push(s), labels: { rack: 'a' } })
    assert.equal(added.fingerprint, h1.fingerprint)
    assert.match(printed.join('\n'), new RegExp(h1.fingerprint.replace(/[+/]/g, '\\$&')))
    await addHost(state, `ssh://${h2.user}@${h2.address}`, { privateKey: key, hostKey: h2.hostKey })
    assert.equal((await stat(join(state, 'hosts.yaml'))).mode & 0o777, 0o600)
    const pool = await loadPool(state)
    assert.deepEqual(pool.map((h) => h.fingerprint), [h1.fingerprint, h2.fingerprint])
    assert.doesNotMatch(await readFile(join(state, 'hosts.yaml'), 'utf8'), /PRIVATE/)
    await rm(state, { recursive: true, force: true })
  })

  await t.test('claim race: of two claimants in parallel exactly one wins; the other learns who holds it; release frees it', async () => {
    const connect = async (): Promise<SshExecutor> => await SshExecutor.connect(poolHost(h2), { privateKey: key, fingerprint: poolHost(h2).fingerprint })
    const [a, b] = await Promise.all([connect(), connect()])
    try {
      for (let round = 0; round < 5; round++) {
        const results = await Promise.allSettled([claimHost(a, { organism: 'o1', cell: 'cell-a' }), claimHost(b, { organism: 'o2', cell: 'cell-b' })])
        const won = results.filter((r) => r.status === 'fulfilled')
        const lost = results.filter((r) => r.status === 'rejected')
        assert.equal(won.length, 1, `round ${round}: ${JSON.stringify(results)}`)
        assert.equal((lost[0].reason as { code: string }).code, 'IMPRINT_CLAIMED')
        const winner = (won[0] as PromiseFulfilledResult<{ holder: { cell: string } }>).value.holder.cell
        const loserReleases = await releaseHost(winner === 'cell-a' ? b : a, winner === 'cell-a' ? { organism: 'o2', cell: 'cell-b' } : { organism: 'o1', cell: 'cell-a' })
        assert.equal(loserReleases, false, 'a loser cannot release the winner\'s claim')
        if (round === 0) assert.match((lost[0].reason as Error).message, new RegExp(`cell ${winner}|still writing`))
        assert.equal(await releaseHost(winner === 'cell-a' ? a : b, winner === 'cell-a' ? { organism: 'o1', cell: 'cell-a' } : { organism: 'o2', cell: 'cell-b' }), true)
      }
      assert.equal((await a.exec('ls -A "$HOME"')).stdout.includes('.organism-claim'), false)
    } finally { await a.close(); await b.close() }
  })
})
