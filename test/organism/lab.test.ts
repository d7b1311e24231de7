// A four-host lab organism (network namespaces, one cell per host on ports 80 and 53): one system, DNS on every host,
// death and partition. Needs root for the namespaces; CI runs as root.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLab } from '../../src/lab/index.ts'
import type { Lab } from '../../src/lab/index.ts'
import { demoGenomeRepo } from '../helpers/organism.ts'
import { cliMain, request, waitFor } from '../helpers/cell-process.ts'
import type { CellStatus } from '../../src/cell/status.ts'

const root = process.getuid?.() === 0
const dir = root ? await mkdtemp(join(tmpdir(), 'organism-lab-')) : ''
let lab: Lab | null = null
const cells = new Map<string, ReturnType<Lab['spawn']>>()
after(async () => {
  await lab?.destroy()
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

const addr = (h: string): string => (lab as Lab).host(h).address
const stateOf = (h: string): string => join((lab as Lab).host(h).home, 'cell')
let user: 'host' | 'root' = 'host'

async function cli (h: string, args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return await (lab as Lab).exec(h, [process.execPath, cliMain, ...args, '--state', stateOf(h)], { user, timeoutMs: 60_000 })
}
async function status (h: string): Promise<CellStatus | null> {
  const r = await cli(h, ['status', '--json'])
  return r.stdout === '' ? null : JSON.parse(r.stdout) as CellStatus
}
const dig = (h: string, name: string, type = 'A'): string =>
  execFileSync('dig', [`@${addr(h)}`, '-p', '53', name, type, '+short', '+time=2', '+tries=1'], { encoding: 'utf8' }).trim()

async function startCell (h: string, token?: string): Promise<void> {
  const home = (lab as Lab).host(h).home
  const args = [process.execPath, cliMain, 'start', '--genome', join(home, 'genome'), '--state', stateOf(h), '--port', '80', '--dns-port', '53',
    '--listen', '0.0.0.0', '--advertise', addr(h), '--name', h, '--peer-port', '4001', ...(token != null ? ['--token', token] : [])]
  const child = (lab as Lab).spawn(h, args, { user })
  let out = ''
  child.stdout?.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { out += c.toString() })
  cells.set(h, child)
  await waitFor(`${h} answers status`, async () => {
    if (child.exitCode != null) throw new Error(`${h} exited: ${out}`)
    return await status(h)
  }, { tries: 300 })
}

async function aliveEverywhere (hosts: string[], count: number): Promise<void> {
  await waitFor(`${count} alive on ${hosts.join(',')}`, async () => {
    for (const h of hosts) {
      const s = await status(h)
      if (s == null || s.members.filter((m) => m.liveness === 'alive').length !== count) return false
      // A cell that just joined also needs the ownership store (its certificate comes over the member link).
      if (s.placements.length !== s.functions.length) return false
    }
    return true
  }, { tries: 200, everyMs: 200 })
}

test('a four-host lab organism acts as one system', { skip: !root && 'network namespaces need root' }, async (t) => {
  lab = await createLab({ hosts: 4 })
  const repo = await demoGenomeRepo(dir)
  await chmod(dir, 0o755)
  // Run the cells as each host's own unprivileged user when the checkout is readable to them (ports 80/53 are allowed in the lab).
  if ((await lab.exec('h1', ['test', '-r', cliMain], { user: 'host' })).code !== 0) user = 'root'
  for (const h of lab.hosts) {
    const r = await lab.exec(h.name, ['sh', '-c', `cp -a '${repo}' '${h.home}/genome' && chown -R '${h.user}:' '${h.home}/genome'`], { user: 'root' })
    assert.equal(r.code, 0, r.stderr)
  }
  const hosts = ['h1', 'h2', 'h3', 'h4']

  await t.test('cell start on h1, then --token on h2..h4: four members alive everywhere', async () => {
    await startCell('h1')
    for (const h of hosts.slice(1)) {
      const token = await cli('h1', ['admit'])
      assert.equal(token.code, 0, token.stderr)
      await startCell(h, token.stdout.trim())
    }
    await aliveEverywhere(hosts, 4)
  })

  await t.test('any cell serves any function, and DNS on every host answers the same', async () => {
    for (const h of hosts) {
      const viaHost = await fetchVia(h, 'catalog.campus.test', '/courses')
      assert.equal(viaHost.status, 200, `${h}: ${viaHost.body}`)
      assert.equal(dig(h, 'catalog.campus.test'), addr('h1'))
      assert.match(dig(h, '_organism._tcp.campus.test', 'SRV'), /80 h\d\.campus\.test\./)
    }
  })

  await t.test('a moved function is served and resolved at its new owner on every host', async () => {
    const post = await fetchVia('h2', 'forum.campus.test', '/courses/cs101/posts', { method: 'POST', body: JSON.stringify({ author: 'ada', text: 'on h1' }) })
    assert.equal(post.status, 201, post.body)
    const moved = await cli('h1', ['move', 'forum', '--to', 'h3'])
    assert.equal(moved.code, 0, moved.stderr)
    for (const h of hosts) {
      await waitFor(`${h} resolves forum at h3`, async () => dig(h, 'forum.campus.test') === addr('h3'), { tries: 50, everyMs: 100 })
      const r = await fetchVia(h, 'forum.campus.test', '/courses/cs101/posts')
      assert.equal(r.status, 200)
      assert.ok(r.body.includes('on h1'), `${h} serves the data that moved`)
    }
  })

  await t.test('a partition heals to one owner per function: the replica took over at the next epoch, the cut-off owner stops its copy', async () => {
    assert.equal((await cli('h1', ['move', 'media', '--to', 'h4'])).code, 0)
    // The store has grown to its three voters (it adds them one look at a time) before one side is cut off.
    await waitFor('three voters of the ownership store, known to every cell', async () => {
      for (const h of hosts) if ((await status(h))?.store.endpoints.length !== 3) return false
      return true
    }, { tries: 150, everyMs: 200 })
    await lab?.cut('h4')
    await waitFor('h1..h3 see h4 dead', async () => {
      for (const h of hosts.slice(0, 3)) if ((await status(h))?.members.find((m) => m.name === 'h4')?.liveness !== 'dead') return false
      return true
    }, { tries: 100, everyMs: 200 })
    // The owner is unreachable: the cell holding media's replica takes it over by itself, with its data, once h4's
    // lease has expired in the store (h4, cut off, stops accepting writes before that).
    let taker = ''
    await waitFor('media taken over by its replica on h1..h3', async () => {
      const p = (await status('h1'))?.placements.find((x) => x.fn === 'media')
      if (p == null || p.ownerName === 'h4' || p.epoch !== 3) return false
      taker = p.ownerName
      return (await fetchVia('h1', 'media.campus.test', '/files')).status === 200
    }, { tries: 150, everyMs: 200 })
    await lab?.heal('h4')
    await aliveEverywhere(hosts, 4)
    await waitFor('every cell agrees on one owner of media, at the highest epoch', async () => {
      for (const h of hosts) {
        const p = (await status(h))?.placements.find((x) => x.fn === 'media')
        if (p?.ownerName !== taker || p.epoch !== 3) return false
      }
      return (await status('h4'))?.functions.find((f) => f.name === 'media')?.state === 'remote'
    }, { tries: 100, everyMs: 200 })
  })

  await t.test('a killed cell is seen dead on every other host within the detection bound', async () => {
    cells.get('h4')?.kill('SIGKILL')
    await waitFor('h1..h3 see h4 dead', async () => {
      for (const h of hosts.slice(0, 3)) if ((await status(h))?.members.find((m) => m.name === 'h4')?.liveness !== 'dead') return false
      return true
    }, { tries: 100, everyMs: 200 })
    assert.equal((await fetchVia('h1', 'grades.campus.test', '/grades')).status, 200)
  })
})

/** A request to the router on a lab host (from this machine, through the lab's veth). */
async function fetchVia (h: string, host: string, path: string, opts: { method?: string, body?: string } = {}): Promise<{ status: number, body: string }> {
  return await request(80, host, path, { ...opts, address: addr(h) })
}
