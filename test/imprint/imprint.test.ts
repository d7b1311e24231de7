// Imprint onto lab hosts over real SSH: preflight failures, rollback at every step, a cut connection, a parent that died, full imprints.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { imprint, makeRuntimePacks, sshTarget } from '../../src/imprint/index.ts'
import type { ImprintOptions, ProgressEvent, StepName } from '../../src/imprint/index.ts'
import { clientKey, hostState, isRoot, poolHost } from './helpers.ts'
import { makeFixture } from './fixture.ts'
import type { Fixture } from './fixture.ts'

const claimant = { organism: 'imprinted', cell: 'parent-cell' }
const hasCrontab = ((): boolean => { try { execFileSync('sh', ['-c', 'command -v crontab'], { stdio: 'ignore' }); return true } catch { return false } })()

async function waitUntil (what: string, probe: () => Promise<boolean>, tries = 150): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await probe().catch(() => false)) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`timed out waiting until ${what}`)
}

function options (fx: Fixture, name: string, address: string, over: Partial<ImprintOptions> = {}): ImprintOptions {
  return {
    genomeRepo: fx.genomeRepo,
    commit: fx.commit,
    bundlePath: fx.bundlePath,
    token: fx.token,
    claimant,
    cell: { name, advertise: address, listen: '0.0.0.0', routerPort: 8081, dnsPort: 5353 },
    joinTimeoutMs: 30_000,
    ...over
  }
}

test('imprint on lab hosts', { skip: !isRoot && 'the netns lab needs root', timeout: 240_000 }, async (t) => {
  const fx = await makeFixture(2)
  t.after(async () => { await fx.destroy() })
  const lab = fx.lab
  const key = clientKey(lab)
  const h1 = lab.host('h1')
  const h2 = lab.host('h2')
  const target1 = sshTarget(poolHost(h1), key)
  const target2 = sshTarget(poolHost(h2), key)
  const clean1 = await hostState(lab, 'h1')

  await t.test('preflight: a full disk (home on a 20 MB tmpfs) and a busy port fail before anything is written', async () => {
    const uid = (await lab.exec('h2', ['id', '-u'])).stdout.trim()
    // Into sshd's own mount namespace (`ip netns exec` gave it a private one): that is where its sessions see the home.
    const sshd = String((lab as unknown as { record: { hosts: Record<string, { sshdPid: number }> } }).record.hosts.h2.sshdPid)
    execFileSync('nsenter', ['-t', sshd, '-m', 'mount', '-t', 'tmpfs', '-o', `size=20m,uid=${uid},mode=700`, 'tmpfs', h2.home])
    try {
      const before = await hostState(lab, 'h2')
      await assert.rejects(imprint(target2, options(fx, 'c2', h2.address)), (err: Error & { code: string }) => err.code === 'IMPRINT_PREFLIGHT_DISK' && /MB free/.test(err.message))
      assert.deepEqual(await hostState(lab, 'h2'), before)
    } finally { execFileSync('nsenter', ['-t', sshd, '-m', 'umount', h2.home]) }
    const busy = lab.spawn('h2', [process.execPath, '-e', "require('net').createServer().listen(8081, () => console.log('up'))"])
    await new Promise((resolve) => busy.stdout?.once('data', resolve))
    try {
      const before = await hostState(lab, 'h2')
      await assert.rejects(imprint(target2, options(fx, 'c2', h2.address)), (err: Error & { code: string }) => err.code === 'IMPRINT_PREFLIGHT_PORT' && /8081/.test(err.message))
      assert.deepEqual((await hostState(lab, 'h2')).home, before.home)
    } finally { busy.kill('SIGKILL') }
  })

  // A runtime already on h2 (not ours): the later steps skip its copy, and rollback must leave it where it was.
  await lab.exec('h2', ['sh', '-c', `mkdir -p "$HOME/.organism/runtime" && cp ${process.execPath} "$HOME/.organism/runtime/node"`])
  const clean2 = await hostState(lab, 'h2')

  for (const step of ['claim', 'copy-cell', 'copy-genome', 'configure', 'start', 'join'] as StepName[]) {
    await t.test(`a failure at the end of ${step} rolls back: nothing of ours left, claim released, runtime found there kept`, async () => {
      const events: ProgressEvent[] = []
      await assert.rejects(imprint(target2, options(fx, 'c2', h2.address, { failAt: step, onProgress: (e) => events.push(e) })), { code: 'IMPRINT_INJECTED' })
      assert.deepEqual(events.at(-1)?.step, 'rollback')
      assert.equal(events.at(-1)?.phase, 'done')
      assert.deepEqual(await hostState(lab, 'h2'), clean2)
    })
  }

  await t.test('an aborted imprint and a cell that cannot start (bad token) roll back too', async () => {
    const ac = new AbortController()
    await assert.rejects(imprint(target2, options(fx, 'c2', h2.address, { signal: ac.signal, onProgress: (e) => { if (e.step === 'copy-genome' && e.phase === 'start') ac.abort() } })), { code: 'IMPRINT_ABORTED' })
    assert.deepEqual(await hostState(lab, 'h2'), clean2)
    await assert.rejects(imprint(target2, options(fx, 'c2', h2.address, { token: 'not-a-token' })), { code: 'IMPRINT_START_FAILED' })
    assert.deepEqual(await hostState(lab, 'h2'), clean2)
  })

  // The packs a parent makes ahead of a division (zstd, gzip): made once here, ~5 s of CPU.
  const packs = await makeRuntimePacks(join(fx.dir, 'runtime'), process.execPath)

  await t.test('the runtime copy: a failure after it (sent as gzip), and the connection killed in the middle of it, leave nothing', async () => {
    await assert.rejects(imprint(target1, options(fx, 'c1', h1.address, { failAt: 'copy-runtime', runtimePacks: { gzip: packs.gzip } })), { code: 'IMPRINT_INJECTED' })
    assert.deepEqual(await hostState(lab, 'h1'), clean1)
    const onProgress = (e: ProgressEvent): void => {
      if (e.step !== 'copy-runtime' || e.phase !== 'start') return
      setTimeout(() => {
        // Kill exactly our SSH session processes on the host (found by user), as a dropped link would end them.
        void lab.exec('h1', ['sh', '-c', `for p in $(ps -u ${h1.user} -o pid=,args= | awk '/sshd/ {print $1}'); do kill -9 $p; done`], { user: 'root' })
      }, 700) // the unpacked binary takes well over a second to copy
    }
    await assert.rejects(imprint(target1, options(fx, 'c1', h1.address, { onProgress })), (err: Error & { code: string }) => ['IMPRINT_COPY_FAILED', 'IMPRINT_CONNECT'].includes(err.code))
    assert.deepEqual(await hostState(lab, 'h1'), clean1)
  })

  await t.test('a parent that died mid-imprint: the next attempt reads the journal, cleans up and completes', async () => {
    await assert.rejects(imprint(target2, options(fx, 'c2', h2.address, { failAt: 'start', noRollback: true })), { code: 'IMPRINT_INJECTED' })
    assert.ok((await hostState(lab, 'h2')).procs.length > 0, 'the half-imprinted cell runs')
    const r = await imprint(target2, options(fx, 'c2', h2.address))
    assert.equal(r.runtime, 'skipped')
    assert.ok((await fx.parentStatus()).members.some((m) => m.name === 'c2'))
  })

  await t.test('a full imprint: the new cell starts, joins the parent; secrets are 0600, the token is gone', async () => {
    const events: ProgressEvent[] = []
    // etcd is carried as the runtime is (this host has its own; 'always' makes the copy happen anyway).
    // The parent's genome pin goes with it: the new cell's trust starts where its parent's did (its first commit).
    const pin = { first: 'f'.repeat(40), signers: ['SHA256:the-parents-signer'], last: 'e'.repeat(40) }
    const r = await imprint(target1, options(fx, 'c1', h1.address, { onProgress: (e) => events.push(e), runtimePacks: packs, etcdBinary: '/usr/bin/etcd', carryEtcd: 'always', pin }))
    console.log(`imprint timings (ms) ${JSON.stringify(r.timings)}; ${r.bytes} bytes copied; service ${r.service}`)
    assert.equal(r.commit, fx.commit)
    assert.equal(r.runtime, 'copied')
    // The zstd pack went, not the binary: far fewer bytes than the binary alone, and the copy on the host runs.
    assert.ok(r.bytes - statSync('/usr/bin/etcd').size < statSync(process.execPath).size / 2, `${r.bytes} bytes copied (etcd's included)`)
    assert.equal((await lab.exec('h1', ['sh', '-c', '"$HOME/.organism/runtime/node" --version'])).stdout.trim(), process.version)
    assert.match((await lab.exec('h1', ['sh', '-c', '"$HOME/.organism/runtime/etcd" --version'])).stdout, /etcd Version: \d/)
    assert.match((await lab.exec('h1', ['sh', '-c', 'cat "$HOME/.organism/start.sh"'])).stdout, /export ORGANISM_ETCD=/, 'the cell is pointed at the etcd it was given')
    // The three copies run at once and end in any order; every other step in its place.
    const ended = events.filter((e) => e.phase !== 'start').map((e) => e.step)
    assert.deepEqual([...ended.slice(0, 3), ...ended.slice(3, 6).sort(), ...ended.slice(6)], ['connect', 'preflight', 'claim', 'copy-cell', 'copy-genome', 'copy-runtime', 'configure', 'start', 'join'])
    const s = await fx.parentStatus()
    assert.ok(s.members.some((m) => m.name === 'c1'), JSON.stringify(s.members))
    const perms = await lab.exec('h1', ['sh', '-c', 'stat -c "%a" "$HOME/.organism/cell/peer.key" "$HOME/.organism-claim/holder"; ls "$HOME/.organism"'])
    assert.match(perms.stdout, /^600\n600\n/)
    assert.doesNotMatch(perms.stdout, /join-token/)
    // The join token was never on the cell's command line, where every user of the host can read it.
    const cmdline = (await lab.exec('h1', ['sh', '-c', 'tr "\\0" " " < /proc/$(cat "$HOME/.organism/cell.pid")/cmdline'])).stdout
    assert.match(cmdline, / start .*--state /, 'the cell\'s own command line was read')
    assert.doesNotMatch(cmdline, /--token(?!-file)/)
    const childPin = JSON.parse((await lab.exec('h1', ['sh', '-c', 'cat "$HOME/.organism/cell/genome-pin.json"'])).stdout) as typeof pin
    assert.deepEqual(childPin, { ...pin, last: fx.commit }, 'the parent\'s first commit and signers, at the commit it was given')
    // A second imprint by the same parent is refused: the host already holds its cell.
    await assert.rejects(imprint(target1, options(fx, 'c1', h1.address)), { code: 'IMPRINT_CLAIMED' })
    // The SSH client key never reaches the host.
    const keyLine = key.split('\n')[1]
    const grep = await lab.exec('h1', ['sh', '-c', `grep -rlF '${keyLine}' "$HOME" 2>/dev/null; true`])
    assert.equal(grep.stdout.trim(), '')
  })

  await t.test('a reboot: with crontab on the host, the @reboot line brings the cell back and it rejoins', { skip: !hasCrontab && 'no crontab here (Debian: apt-get install cron)' }, async () => {
    const cron = (await hostState(lab, 'h1')).cron
    const line = cron.split('\n').find((l) => l.startsWith('@reboot '))
    assert.ok(line != null, `an @reboot line: ${cron}`)
    const before = (await lab.exec('h1', ['sh', '-c', 'cat "$HOME/.organism/cell.pid"'])).stdout.trim()
    // What a reboot does to the user's processes (sshd sessions aside), then what cron does at boot.
    // The killed processes are orphans: where pid 1 does not reap them they linger as zombies, which must not
    // count as a running cell (CI's container did that, and the restarted cell refused to start).
    await lab.exec('h1', ['sh', '-c', `pkill -KILL -u ${h1.user} -f '.organism/runtime/node|server.mjs'; sleep 0.5`], { user: 'root' })
    // A reboot takes longer than the detection bound: the parent has buried c1 before it comes back.
    const parentSees = (liveness: string) => async (): Promise<boolean> => (await fx.parentStatus()).members.some((m) => m.name === 'c1' && m.liveness === liveness)
    await waitUntil('the parent sees c1 dead', parentSees('dead'))
    await lab.exec('h1', ['sh', '-c', `${line.replace(/^@reboot /, '').replace(/ #.*$/, '')} &`])
    const hostLog = async (): Promise<string> => (await lab.exec('h1', ['sh', '-c', 'tail -n 20 "$HOME/.organism/cell.out"'])).stdout
    await waitUntil('the rebooted cell runs again', async () => {
      const now = (await lab.exec('h1', ['sh', '-c', 'cat "$HOME/.organism/cell.pid"'])).stdout.trim()
      return now !== before && now !== '' && (await lab.exec('h1', ['sh', '-c', `kill -0 ${now}`])).code === 0
    })
    await waitUntil('the parent sees it alive', parentSees('alive')).catch(async (err: Error) => {
      throw new Error(`${err.message}; the cell's log on h1:\n${await hostLog()}`)
    })
    assert.doesNotMatch(await hostLog(), /CELL_ALREADY_RUNNING|could not save membership/)
  })
})
