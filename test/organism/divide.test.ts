// Division over SSH on lab hosts: `cell divide` imprints an empty host and hands it a function; then load past the
// genome's limit makes the cell divide by itself, with no command typed. Needs root (lab namespaces).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLab } from '../../src/lab/index.ts'
import type { Lab } from '../../src/lab/index.ts'
import { signedCommit } from '../../src/genome/index.ts'
import { demoGenomeRepo } from '../helpers/organism.ts'
import { spawnCell, runCli, waitFor, request, leftoverProcesses } from '../helpers/cell-process.ts'
import type { CellProcess } from '../helpers/cell-process.ts'
import type { CellStatus } from '../../src/cell/status.ts'

const root = process.getuid?.() === 0
const dir = root ? await mkdtemp(join(tmpdir(), 'organism-divide-')) : ''
let lab: Lab | null = null
let parent: CellProcess | null = null
after(async () => {
  if (parent?.child.exitCode == null) { parent?.child.kill('SIGKILL'); await parent?.exited }
  await lab?.destroy()
  for (const pids of (await leftoverProcesses(dir)).values()) for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch {} }
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

test('a cell divides onto empty lab hosts: on command, then by itself under load', { skip: !root && 'lab hosts need root' }, async (t) => {
  lab = await createLab({ hosts: 2 })
  const repo = await demoGenomeRepo(dir)
  // Low limits and a short window, so a test's load passes them.
  const yaml = (await readFile(join(repo, 'organism.yaml'), 'utf8')).replace(/division:[\s\S]*$/, 'division:\n  requests_per_second: 8\n  window: 6s\n  cooldown: 10m\n')
  await writeFile(join(repo, 'organism.yaml'), yaml)
  await signedCommit(repo, 'low limits for the division test', join(dir, 'key'))
  const state = join(dir, 'parent')
  // The lab's root-side address: lab hosts reach the parent there.
  const here = lab.hosts[0].address.replace(/\.\d+$/, '.1')
  parent = spawnCell(['start', '--genome', repo, '--state', state, '--port', '0', '--dns-port', '0', '--listen', '0.0.0.0', '--advertise', here, '--name', 'parent', '--identity', lab.clientKey])
  const status = async (): Promise<CellStatus> => JSON.parse((await runCli(['status', '--json', '--state', state])).stdout) as CellStatus
  await waitFor('the parent runs its functions', async () => (await status().catch(() => null))?.functions.every((f) => f.state === 'running'), { tries: 300 })
  const url = (i: number): string => `ssh://${lab?.hosts[i].user}@${lab?.hosts[i].address}:22`

  await t.test('an unpinned host is refused before anything happens', async () => {
    const before = (await lab?.exec('h1', ['sh', '-c', 'ls -A ~']))?.stdout
    const r = await runCli(['divide', url(0), '--state', state, '--identity', lab?.clientKey ?? ''])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /IMPRINT_HOST_KEY_UNKNOWN/)
    assert.equal((await lab?.exec('h1', ['sh', '-c', 'ls -A ~']))?.stdout, before, 'nothing was written to the host')
  })

  await t.test('cell hosts add pins the key; cell divide imprints h1 and hands it forum with its data', async () => {
    for (const i of [0, 1]) {
      const pin = await runCli(['hosts', 'add', url(i), '--host-key', lab?.hosts[i].fingerprint ?? '', '--identity', lab?.clientKey ?? '', '--state', state])
      assert.equal(pin.code, 0, pin.stderr)
    }
    const s = await status()
    const post = await request(s.router.port, 'forum.campus.test', '/courses/cs101/posts', { method: 'POST', body: JSON.stringify({ author: 'ada', text: 'before division' }) })
    assert.equal(post.status, 201)
    const r = await runCli(['divide', url(0), '--function', 'forum', '--identity', lab?.clientKey ?? '', '--state', state])
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.match(r.stdout, /divided: c-[\d-]+ serves forum/)
    const after = await status()
    assert.equal(after.placements.find((p) => p.fn === 'forum')?.ownerName, `c-${lab?.hosts[0].address.replace(/\./g, '-')}`)
    const served = await request(after.router.port, 'forum.campus.test', '/courses/cs101/posts')
    assert.equal(served.status, 200)
    assert.ok(served.body.includes('before division'), 'the data moved with the function')
    const dig = execFileSync('dig', ['@127.0.0.1', '-p', String(after.dns.port), 'forum.campus.test', '+short'], { encoding: 'utf8' }).trim()
    assert.equal(dig, lab?.hosts[0].address)
  })

  await t.test('load past the genome\'s requests/s limit makes the cell divide by itself onto h2', async () => {
    const load = spawn(process.execPath, [new URL('../../scripts/load.ts', import.meta.url).pathname, 'grades', '--rps', '25', '--seconds', '120', '--cell', state], { stdio: 'ignore' })
    t.after(() => { load.kill('SIGKILL') })
    await waitFor('a third cell, made by the organism itself', async () => (await status()).members.length === 3, { tries: 240, everyMs: 500 })
    load.kill('SIGTERM')
    const s = await status()
    const h2 = `c-${lab?.hosts[1].address.replace(/\./g, '-')}`
    assert.ok(s.members.some((m) => m.name === h2 && m.liveness === 'alive'))
    // Membership comes first; the hand-off (the cold move) finishes a moment later.
    await waitFor('h2 serves the function it was handed', async () => {
      const now = await status()
      return now.placements.some((p) => p.ownerName === h2 && p.state === 'serving') && now.events.some((e) => e.text.includes(`divided onto ${h2}`))
    }, { tries: 120, everyMs: 500 })
    const handed = (await status()).placements.find((p) => p.ownerName === h2)
    assert.equal(handed?.fn, 'grades', 'the function over the limit was handed off')
  })
})
