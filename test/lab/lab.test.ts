// The lab end to end: real sshd per host, real OpenSSH client with pinned keys, reachability, port 80, cut/heal, teardown.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { createLab } from '../../src/lab/index.ts'
import { isOrganismError as isLabError } from '../../src/core/errors.ts'
import type { Lab } from '../../src/lab/index.ts'
import { canReach, isRoot, leftovers, sshRun, testStateDir } from './helpers.ts'

describe(`a lab of 3 hosts (${isRoot ? 'netns' : 'loopback'} mode)`, () => {
  const stateDir = testStateDir()
  let lab: Lab | undefined
  const get = (): Lab => { assert.ok(lab != null, 'lab was not created'); return lab }

  before(async () => { lab = await createLab({ hosts: 3, stateDir }) })
  after(async () => {
    await lab?.destroy()
    rmSync(stateDir, { recursive: true, force: true })
  })

  test('each host has its own name, address, user, home and pinned host key', () => {
    const hosts = get().hosts
    assert.deepEqual(hosts.map((h) => h.name), ['h1', 'h2', 'h3'])
    assert.equal(new Set(hosts.map((h) => `${h.address}:${h.sshPort}`)).size, 3)
    assert.equal(new Set(hosts.map((h) => h.fingerprint)).size, 3)
    for (const h of hosts) {
      assert.match(h.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/)
      assert.match(h.hostKey, /ssh-ed25519 AAAA/)
      if (isRoot) {
        assert.equal(h.user, `${get().prefix}-${h.name}`)
        assert.equal(h.sshPort, 22)
        assert.match(h.address, /^10\.213\.\d+\.\d+$/)
      }
    }
  })

  test('OpenSSH with strict host-key checking logs in to each host as that host\'s user', async () => {
    for (const h of get().hosts) {
      // In loopback mode sshd starts in the user's real home, but $HOME is the host's dir.
      const r = await sshRun(get(), h, isRoot ? 'id -un; pwd' : 'id -un; echo "$HOME"')
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, `${h.user}\n${h.home}\n`)
    }
  })

  test('a wrong pinned key is refused', async () => {
    const [h1, h2] = get().hosts
    // h2's key recorded under h1's address: ssh must refuse to talk to h1.
    const file = `${get().dir}/forged_known_hosts`
    writeFileSync(file, h2.hostKey.replace(/^\S+/, h1.hostKey.split(' ')[0]) + '\n')
    const r = await sshRun(get(), h1, 'true', file)
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /HOST IDENTIFICATION HAS CHANGED|Host key verification failed/)
  })

  test('exec runs inside the host as its user, or as root', async () => {
    const r = await get().exec('h2', ['sh', '-c', 'id -un; echo "$HOME"'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, `${get().host('h2').user}\n${get().host('h2').home}\n`)
    if (isRoot) assert.equal((await get().exec('h2', ['id', '-un'], { user: 'root' })).stdout, 'root\n')
  })

  test('h1 reaches h2 and h3', async () => {
    for (const to of ['h2', 'h3']) {
      const h = get().host(to)
      assert.equal(await canReach(get(), 'h1', h.address, h.sshPort), true, `h1 -> ${to}`)
    }
  })

  test('an unprivileged process inside h2 binds port 80', { skip: !isRoot && 'needs the netns lab (root)' }, async () => {
    const h2 = get().host('h2')
    const server = get().spawn('h2', [process.execPath, '-e',
      `require('net').createServer(s=>s.end('hello from '+require('os').userInfo().username)).listen(80,${JSON.stringify(h2.address)},()=>console.log('listening'))`])
    try {
      await new Promise<void>((resolve, reject) => {
        server.stdout?.on('data', (d: Buffer) => { if (d.toString().includes('listening')) resolve() })
        server.stderr?.on('data', (d: Buffer) => reject(new Error(d.toString())))
        server.once('exit', (code) => reject(new Error(`server exited ${code}`)))
      })
      const reply = await new Promise<string>((resolve, reject) => {
        let text = ''
        connect({ host: h2.address, port: 80 }).on('data', (d) => { text += d.toString() }).on('end', () => resolve(text)).on('error', reject)
      })
      assert.equal(reply, `hello from ${h2.user}`)
    } finally { server.kill() }
  })

  test('cut h2 partitions it from h1; heal reconnects it', { skip: !isRoot && 'needs the netns lab (root)' }, async () => {
    const h2 = get().host('h2')
    await get().cut('h2')
    try {
      assert.equal(await canReach(get(), 'h1', h2.address, 22), false, 'h1 still reaches h2 after cut')
      assert.equal(await canReach(get(), 'h1', get().host('h3').address, 22), true, 'h3 was cut too')
    } finally { await get().heal('h2') }
    assert.equal(await canReach(get(), 'h1', h2.address, 22), true, 'h1 does not reach h2 after heal')
  })

  test('cut on an unknown host is a typed error', async () => {
    await assert.rejects(get().cut('h9'), (err) => isLabError(err, 'LAB_UNKNOWN_HOST'))
  })

  test('destroy removes every namespace, link, user, sshd, process and dir of the lab, and is idempotent', async () => {
    const l = get()
    const child = l.spawn('h3', ['sleep', '600'])
    assert.ok(child.pid != null)
    await l.destroy()
    await l.destroy()
    assert.deepEqual(leftovers(l.prefix, l.dir), [])
    assert.throws(() => l.spawn('h1', ['true']), (err) => isLabError(err, 'LAB_DESTROYED'))
  })
})
