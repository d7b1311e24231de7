// bench:divide — on lab hosts (root): time from `cell divide` to the first request the moved function serves at the
// new cell, split by step, with the bytes copied; then a function with 200 MB of mixed files moved by a division
// versus `rsync -a` over SSH of the same files between the same hosts, measured in the same run.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLab } from '../src/lab/index.ts'
import { demoGenomeRepo } from '../test/helpers/organism.ts'
import { functionProcesses, request, runCli, spawnCell, waitFor } from '../test/helpers/cell-process.ts'
import type { CellStatus } from '../src/cell/status.ts'

const DATA_MB = Number(process.env.BENCH_DATA_MB ?? 200)

if (process.getuid?.() !== 0) { console.error('bench:divide needs root: its hosts are network namespaces (the lab)'); process.exit(2) }
try { execFileSync('rsync', ['--version'], { stdio: 'ignore' }) } catch {
  execFileSync('apt-get', ['install', '-y', 'rsync'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
}

/** Mixed files: a few large incompressible ones, many small ones, half of those text. */
async function fillMixed (dir: string, totalMb: number): Promise<{ files: number, bytes: number }> {
  let bytes = 0
  let files = 0
  const big = totalMb * 0.6 * 1024 * 1024
  const text = 'lecture notes, forum posts and grades in plain text; '.repeat(1000)
  await mkdir(join(dir, 'videos'), { recursive: true })
  while (bytes < big) {
    const n = (2 + (files % 7)) * 1024 * 1024
    await writeFile(join(dir, 'videos', `v${files}.bin`), randomBytes(n))
    bytes += n; files++
  }
  for (let i = 0; bytes < totalMb * 1024 * 1024; i++) {
    const sub = join(dir, 'docs', `d${i % 50}`)
    if (i < 50) await mkdir(sub, { recursive: true })
    const n = 4096 + ((i * 7919) % 60_000)
    await writeFile(join(sub, `f${i}.${i % 2 === 0 ? 'txt' : 'bin'}`), i % 2 === 0 ? Buffer.from(text.slice(0, n)) : randomBytes(n))
    bytes += n; files++
  }
  return { files, bytes }
}

const dir = await mkdtemp(join(tmpdir(), 'organism-bench-divide-'))
const lab = await createLab({ hosts: 2 })
const state = join(dir, 'parent')
let parent: ReturnType<typeof spawnCell> | null = null
try {
  const repo = await demoGenomeRepo(dir)
  const here = lab.hosts[0].address.replace(/\.\d+$/, '.1')
  parent = spawnCell(['start', '--genome', repo, '--state', state, '--port', '0', '--dns-port', '0', '--listen', '0.0.0.0', '--advertise', here, '--name', 'parent', '--identity', lab.clientKey])
  const status = async (): Promise<CellStatus> => JSON.parse((await runCli(['status', '--json', '--state', state])).stdout) as CellStatus
  const s = await waitFor('the parent runs its functions', async () => { const x = await status().catch(() => null); return x?.functions.every((f) => f.state === 'running') === true ? x : null }, { tries: 600 })
  const url = (i: number): string => `ssh://${lab.hosts[i].user}@${lab.hosts[i].address}`
  for (const i of [0, 1]) {
    const pin = await runCli(['hosts', 'add', url(i), '--host-key', lab.hosts[i].fingerprint, '--identity', lab.clientKey, '--state', state])
    if (pin.code !== 0) throw new Error(pin.stderr)
  }

  // A parent with hosts in its pool packs what a division copies ahead of time (the runtime's gzip takes seconds of
  // CPU); a parent that has been up for a while has it, so the division is timed from there.
  const p0 = performance.now()
  await waitFor('the parent has packed the runtime', async () => (await readdir(join(state, 'runtime')).catch(() => [])).some((f) => f.endsWith('.zst')), { tries: 1200, everyMs: 100 })
  console.log(`the parent prepared what a division copies (cell bundle, packed runtime) in ${((performance.now() - p0) / 1000).toFixed(1)} s after the hosts were pinned\n`)

  /** `cell divide`, then poll the new cell's own router until the function answers there. */
  const divide = async (i: number, fn: string, path: string): Promise<{ total: number, steps: string, line: string }> => {
    const t0 = performance.now()
    const r = await runCli(['divide', url(i), '--function', fn, '--identity', lab.clientKey, '--state', state])
    if (r.code !== 0) throw new Error(`cell divide failed: ${r.stderr}${r.stdout}`)
    await waitFor(`${fn} served at ${lab.hosts[i].name}`, async () => (await request(s.router.port, `${fn}.campus.test`, path, { address: lab.hosts[i].address })).status === 200, { tries: 600, everyMs: 20 })
    const total = performance.now() - t0
    return { total, steps: /^steps: (.*)$/m.exec(r.stdout)?.[1] ?? '', line: /^divided: .*$/m.exec(r.stdout)?.[0] ?? '' }
  }

  console.log('# one division of a function without data (forum)')
  const a = await divide(0, 'forum', '/health')
  console.log(a.line)
  console.log(`steps: ${a.steps}`)
  console.log(`cell divide -> first request served at the new cell: ${(a.total / 1000).toFixed(2)} s (target < 5 s)\n`)

  console.log(`# ${DATA_MB} MB of mixed files in media's data dir: division versus rsync -a over SSH, same hosts`)
  const data = join(state, 'functions', 'data', 'media')
  const filled = await fillMixed(join(data, 'library'), DATA_MB)
  console.log(`${filled.files} files, ${(filled.bytes / 1024 / 1024).toFixed(1)} MB`)
  const h2 = lab.hosts[1]
  const ssh = `ssh -i ${lab.clientKey} -o UserKnownHostsFile=${lab.knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes`
  // Each timed copy starts with no dirty pages left from the last one (sync), and rsync runs before and after the
  // division: whichever copy runs second otherwise pays for the writeback of the first.
  const rsync = async (): Promise<number> => {
    execFileSync('sync')
    const r0 = performance.now()
    execFileSync('rsync', ['-a', '-e', ssh, `${data}/`, `${h2.user}@${h2.address}:rsync-baseline/`], { stdio: 'inherit' })
    const sec = (performance.now() - r0) / 1000
    await lab.exec('h2', ['rm', '-rf', join(h2.home, 'rsync-baseline')])
    return sec
  }
  const rsyncBefore = await rsync()
  execFileSync('sync')
  const b = await divide(1, 'media', '/files')
  // The division moved the data away; put it back for the second rsync.
  await fillMixed(join(data, 'library'), DATA_MB)
  const rsyncAfter = await rsync()
  const rsyncS = (rsyncBefore + rsyncAfter) / 2
  const handoffMs = Number(/handoff (\d+) ms/.exec(b.steps)?.[1])
  const moved = Number(/moved (\d+) bytes/.exec(b.line)?.[1])
  const mbps = (bytes: number, sec: number): string => `${(bytes / 1024 / 1024 / sec).toFixed(1)} MB/s`
  console.log(b.line)
  console.log(`steps: ${b.steps}`)
  console.log(`rsync -a over SSH: ${rsyncS.toFixed(2)} s, ${mbps(filled.bytes, rsyncS)} (mean of ${rsyncBefore.toFixed(2)} s before and ${rsyncAfter.toFixed(2)} s after the division)`)
  // The parent logs the data part of the move: from stopping the function to the last byte sent (stop, open, offer, copy).
  const sentLine = (await readFile(join(state, 'cell.log'), 'utf8')).split('\n').filter((l) => l.includes('data sent') && l.includes('"fn":"media"')).at(-1) ?? ''
  const dataMs = Number(/"dataMs":(\d+)/.exec(sentLine)?.[1])
  console.log(`division data (stop the function, open, copy to the last byte): ${(dataMs / 1000).toFixed(2)} s, ${mbps(moved, dataMs / 1000)} via ${/"via":"(\w+)"/.exec(sentLine)?.[1] ?? '?'}`)
  const got = (await lab.exec('h2', ['sh', '-c', 'grep -h "data received" "$HOME"/.organism/cell.out "$HOME"/.organism/cell/cell.log 2>/dev/null | tail -n 1'])).stdout
  console.log(`  at the new cell: receive and unpack ${Number(/"dataMs":(\d+)/.exec(got)?.[1]) / 1000} s, then start + health ${Number(/"startMs":(\d+)/.exec(got)?.[1]) / 1000} s`)
  console.log(`division hand-off (data + verify, start, health, claim): ${(handoffMs / 1000).toFixed(2)} s, ${mbps(moved, handoffMs / 1000)}`)
  console.log(`data rate division/rsync: ${(rsyncS / (dataMs / 1000)).toFixed(2)} (target >= 0.80); whole hand-off/rsync ${(rsyncS / (handoffMs / 1000)).toFixed(2)}`)
} finally {
  if (parent?.child.exitCode == null) { parent?.child.kill('SIGTERM'); await Promise.race([parent?.exited, new Promise((r) => setTimeout(r, 20_000))]) }
  if (parent?.child.exitCode == null) parent?.child.kill('SIGKILL')
  for (const pids of (await functionProcesses(dir)).values()) for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch {} }
  await lab.destroy()
  await rm(dir, { recursive: true, force: true })
}
