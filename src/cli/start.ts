// `cell start`: run a cell in the foreground until Ctrl-C, SIGTERM or `cell stop`.
import { appendFileSync } from 'node:fs'
import { chmod, mkdir, readFile, rm, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { setLogSink } from '../core/log.ts'
import { startCell } from '../cell/cell.ts'
import type { Cell } from '../cell/cell.ts'
import { prepareDemoGenome } from '../cell/demo.ts'
import { signOverride } from '../genome/index.ts'
import { demoPoolChoice, startDemoPool } from './demo-pool.ts'
import type { DemoPool } from './demo-pool.ts'
import { readTsigKey } from '../dns/index.ts'
import type { DnsPrimary } from '../cell/dns-push.ts'
import type { CellPaths } from '../cell/paths.ts'
import { formatDemoPool, formatWelcome, formatStatus } from './format.ts'
import { cliError } from './errors.ts'
import type { CliValues } from './main.ts'

function parsePort (v: string | undefined, flag: string): number | null {
  if (v == null) return null
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw cliError('CLI_USAGE', `${flag} wants a port from 0 to 65535, got "${v}"`)
  return n
}

async function primaryOption (values: CliValues): Promise<DnsPrimary | undefined> {
  if (values['dns-primary'] == null) return undefined
  const m = /^(.+):(\d+)$/.exec(values['dns-primary'])
  if (m == null || values['dns-key'] == null) throw cliError('CLI_USAGE', '--dns-primary wants HOST:PORT and --dns-key FILE (a TSIG key the primary allows to update the zone)')
  return { host: m[1], port: Number(m[2]), key: await readTsigKey(values['dns-key']) }
}

/** The join token: from a file (read here, deleted once the cell has joined) or, visible to `ps`, from --token. */
async function joinOption (values: CliValues): Promise<{ address?: string, token: string } | undefined> {
  const file = values['token-file']
  if (values.join == null && values.token == null && file == null) return undefined
  if (file != null && values.token != null) throw cliError('CLI_USAGE', 'give the token once: --token-file FILE or --token T')
  const token = file == null ? values.token : (await readFile(file, 'utf8').catch((err: Error) => { throw cliError('CLI_USAGE', `--token-file ${file} cannot be read: ${err.message}`) })).trim()
  if (token == null || token === '') throw cliError('CLI_USAGE', '--join needs a token: --token-file FILE (from `cell admit` on a member)')
  // Without --join, the member's addresses inside the token are used.
  return { address: values.join, token }
}

export async function startCommand (values: CliValues, paths: CellPaths): Promise<number> {
  await mkdir(paths.root, { recursive: true, mode: 0o700 })
  // The state dir holds the cell's keys and its API token: only its user may enter it, also if someone widened it.
  const widened = ((await stat(paths.root)).mode & 0o077) !== 0
  if (widened) await chmod(paths.root, 0o700)
  if (await stat(paths.logFile).then((s) => (s.mode & 0o077) !== 0, () => false)) await chmod(paths.logFile, 0o600)
  // The cell's own log goes to its file; warnings also reach the terminal.
  setLogSink((line) => {
    appendFileSync(paths.logFile, line + '\n', { mode: 0o600 })
    if (/ (warn|error) /.test(line)) process.stderr.write(line + '\n')
  })
  if (widened) process.stderr.write(`${paths.root} was open to other users; it is 0700 again\n`)
  const genomeRepo = values.demo === true ? await prepareDemoGenome(paths) : resolve(values.genome ?? '.')
  // The demo grows onto hosts of this machine; they end with it.
  const pool = values.demo === true ? await startDemoPool(paths.root, demoPoolChoice(process.env.ORGANISM_DEMO_POOL)) : null
  try {
    return await runCell(values, paths, genomeRepo, pool)
  } finally {
    await pool?.close()
  }
}

async function runCell (values: CliValues, paths: CellPaths, genomeRepo: string, pool: DemoPool | null): Promise<number> {
  const cell = await startCell({
    stateDir: paths.root,
    genomeRepo,
    ref: values.ref,
    routerPort: parsePort(values.port, '--port'),
    dnsPort: parsePort(values['dns-port'], '--dns-port'),
    advertise: values.advertise,
    name: values.name,
    peerHost: values.demo === true ? '127.0.0.1' : values.listen ?? '0.0.0.0',
    peerPort: parsePort(values['peer-port'], '--peer-port'),
    join: await joinOption(values),
    metricsOpen: values['metrics-open'] === true,
    functionsUnconfined: values['functions-unconfined'] === true,
    follow: values.follow === true,
    dnsPrimary: await primaryOption(values),
    identityFile: values.identity,
    // The demo stays on this machine; a real cell serves its network.
    routerHost: values.listen ?? (values.demo === true ? '127.0.0.1' : '0.0.0.0'),
    apiPort: parsePort(values['api-port'], '--api-port') ?? 0,
    extraPool: pool ?? undefined
  })
  // The demo's hosts end with it: first every function they own comes home with its data (a second Ctrl-C skips that).
  let stopping = false
  const onSignal = (): void => {
    if (stopping) { void cell.stop(); return }
    stopping = true
    void (pool != null ? bringHome(cell) : Promise.resolve()).finally(() => { void cell.stop() })
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  // Spent now: the cell is a member (a restart rejoins with its own identity, not with the token).
  if (values['token-file'] != null) await rm(values['token-file'], { force: true })
  console.log(`cell started from genome ${cell.status().genome.commit.slice(0, 12)} (${genomeRepo})`)
  // Wait (bounded) for every function to settle before printing what to try.
  const settled = new Set(['running', 'failed', 'crash-loop'])
  for (let i = 0; i < 120 && !cell.status().functions.every((f) => settled.has(f.state)); i++) {
    await Promise.race([new Promise((r) => setTimeout(r, 250)), cell.stopped])
  }
  console.log(formatStatus(cell.status()) + '\n')
  console.log(formatWelcome(cell.status()))
  if (pool != null) console.log('\n' + formatDemoPool(pool, cell.status()))
  await cell.stopped
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)
  console.log('cell stopped')
  return 0
}

/** Moves every function another cell owns back to this one, one at a time, each bounded by the move's own limits. */
async function bringHome (cell: Cell): Promise<void> {
  const self = cell.organism.self
  const away = cell.organism.placements().filter((p) => p.owner !== self && cell.organism.liveness(p.owner) !== 'dead')
  for (const p of away) {
    const from = cell.organism.nameOf(p.owner)
    console.log(`bringing ${p.fn} home from ${from} before its host is removed (Ctrl-C again to skip)…`)
    // Asking the demo host's cell to hand fn over is an operator's override: signed with the demo's own key.
    await signOverride(cell.paths.demoKey, { organism: cell.genome.organism, kind: 'move', fn: p.fn, to: self, force: false }).then(async (signed) => await cell.move(p.fn, self, signed)).then(
      (r) => { console.log(`  ${p.fn} is back (${r.bytes} bytes)`) },
      (err: unknown) => { console.log(`  ${p.fn} stays on ${from}: ${(err as Error).message}; its data goes with the host`) })
  }
}
