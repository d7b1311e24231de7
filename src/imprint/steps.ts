// The imprint steps after the claim: copy runtime, cell and genome, configure, start, wait for the join.
import { stat } from 'node:fs/promises'
import { logger } from '../core/log.ts'
import { imprintError } from './errors.ts'
import type { Executor } from './executor.ts'
import { mustSucceed, sh } from './executor.ts'
import { makeDirs, record } from './journal.ts'
import type { Probe } from './preflight.ts'
import { DONE_FILE, JOURNAL } from './preflight.ts'
import type { CellArgs, Layout, ServiceMode } from './service.ts'
import { pickPack } from './runtime-pack.ts'
import { PIN_FILE, type GenomePin } from '../genome/index.ts'
import type { PackFormat, RuntimePacks } from './runtime-pack.ts'
import { startScript, startService } from './service.ts'

const log = logger('imprint')

export interface StepContext {
  readonly ex: Executor
  readonly layout: Layout
  readonly probe: Probe
  readonly imprintId: string
  /** A cell for this session only (the demo's loopback hosts): no unit, no crontab line, gone at reboot. */
  readonly transient: boolean
  readonly signal?: AbortSignal
  /** Adds to the byte count reported at the end. */
  readonly copied: (bytes: number) => void
}

/**
 * Waits for every task, then throws the first failure. Promise.all would throw at once and leave the others
 * running, and a copy still writing while the rollback deletes its file would leave that file behind.
 */
export async function allSettled<T extends readonly unknown[]> (tasks: readonly [...{ [K in keyof T]: Promise<T[K]> }]): Promise<T> {
  // The first to fail, in time, is the error (the others may have failed only because of it).
  const failures: unknown[] = []
  const results = await Promise.all(tasks.map(async (p) => await p.catch((err: unknown) => { failures.push(err) })))
  if (failures.length > 0) throw failures[0]
  return results as unknown as T
}

async function run (c: StepContext, cmd: string, what: string, timeoutMs?: number): Promise<string> {
  return mustSucceed(await c.ex.exec(cmd, { signal: c.signal, timeoutMs }), what).stdout
}

/**
 * One command on the host: journal the names, write NAME.part, move it into place (then `after`). A cut connection
 * never leaves a truncated file under the real name, and the journal lists both names before a byte lands.
 */
async function putFile (c: StepContext, source: string, dest: string, mode: number, extra: { unpack?: PackFormat, before?: string, after?: string, expectBytes?: number } = {}): Promise<void> {
  const before = [extra.before, record({ kind: 'path', path: `${dest}.part` }), record({ kind: 'path', path: dest })].filter((x) => x != null).join(' && ')
  const after = [`mv -f ${sh(`${dest}.part`)} ${sh(dest)}`, extra.after].filter((x) => x != null).join(' && ')
  // Only a copy of the full size is moved into place (a closed channel ends the host's cat like a complete input).
  const expectBytes = extra.expectBytes ?? (await stat(source)).size
  c.copied(await c.ex.put(source, `${dest}.part`, mode, { signal: c.signal, unpack: extra.unpack, before, after, expectBytes }))
}

/** packs: nodeBinary packed (runtime-pack.ts); one the host can unpack is sent instead of the binary. */
export async function copyRuntime (c: StepContext, nodeBinary: string, suitable: boolean, packs?: RuntimePacks | null): Promise<'copied' | 'skipped'> {
  if (suitable) {
    await run(c, makeDirs(c.layout.runtimeDir), 'make the runtime directory')
    return 'skipped'
  }
  const pack = pickPack(packs, c.probe)
  // The copied node must run on the host before we rely on it.
  await putFile(c, pack?.file ?? nodeBinary, c.layout.node, 0o755, {
    unpack: pack?.format,
    expectBytes: (await stat(nodeBinary)).size,
    before: makeDirs(c.layout.runtimeDir),
    after: `${sh(c.layout.node)} --version > /dev/null`
  })
  log.debug('runtime copied', { packed: pack?.format ?? 'no' })
  return 'copied'
}

/** etcd, one static binary: copied beside node, checked to run there (the start script points the cell at it). */
export async function copyEtcd (c: StepContext, etcdBinary: string): Promise<void> {
  await putFile(c, etcdBinary, c.layout.etcd, 0o755, {
    expectBytes: (await stat(etcdBinary)).size,
    before: makeDirs(c.layout.runtimeDir),
    after: `${sh(c.layout.etcd)} --version > /dev/null`
  })
}

export async function copyCell (c: StepContext, bundlePath: string): Promise<void> {
  await putFile(c, bundlePath, c.layout.bundle, 0o644, { before: makeDirs(c.layout.runtimeDir) })
}

export async function copyGenome (c: StepContext, bundleFile: string, commit: string): Promise<void> {
  const dest = `${c.layout.root}/genome.bundle`
  // Unpacked in the same command, right after the bundle lands.
  await putFile(c, bundleFile, dest, 0o600, {
    before: makeDirs(c.layout.root),
    after: [
      record({ kind: 'path', path: c.layout.genome }),
      `git clone -q --no-checkout ${sh(dest)} ${sh(c.layout.genome)}`,
      `git -C ${sh(c.layout.genome)} checkout -q --detach ${sh(commit)}`,
      `test "$(git -C ${sh(c.layout.genome)} rev-parse HEAD)" = ${sh(commit)}`,
      `rm -f ${sh(dest)}`
    ].join(' && ')
  })
}

/** `pin`: the parent's genome pin (genome/pin.ts), so that the new cell's trust starts where its parent's did. */
export async function configure (c: StepContext, args: CellArgs, token: string, pin: GenomePin | null = null): Promise<void> {
  const l = c.layout
  const script = startScript(l, args, c.imprintId)
  const pinText = pin == null ? '' : JSON.stringify({ ...pin, last: args.commit })
  // One command: journal, then the token from stdin into a 0600 file (never on a command line, where `ps` would show
  // it), then the start script and the pin from here-documents (they hold no secret).
  mustSucceed(await c.ex.exec([
    record({ kind: 'path', path: l.startScript }), record({ kind: 'path', path: l.tokenFile }), record({ kind: 'path', path: l.state }),
    'umask 077', `cat > ${sh(l.tokenFile)}`, `chmod 600 ${sh(l.tokenFile)}`,
    ...pin == null ? [] : [`mkdir -p ${sh(l.state)}`, `printf '%s\\n' ${sh(pinText)} > ${sh(`${l.state}/${PIN_FILE}`)}`],
    `cat > ${sh(l.startScript)} <<'ORGANISM_START_EOF' && chmod 700 ${sh(l.startScript)}\n${script}ORGANISM_START_EOF\n`
  ].join(' && '), { stdin: token, signal: c.signal }), 'write the join token, the start script and the genome pin')
  c.copied(Buffer.byteLength(script) + pinText.length)
  // The bundle is not run here to check it: starting the cell does that, and a bundle that cannot run ends the join
  // at once (IMPRINT_START_FAILED with the end of its output), without a second Node boot on the host.
}

export function serviceMode (c: StepContext): ServiceMode {
  // The local executor runs on this very machine: it must not install units or crontab lines for its user.
  return c.ex.kind === 'ssh' && c.probe.systemd && !c.transient ? 'systemd' : 'detached'
}

export async function startCell (c: StepContext, mode: ServiceMode): Promise<void> {
  const withCron = mode === 'detached' && c.ex.kind === 'ssh' && c.probe.crontab && !c.transient
  if (mode === 'detached' && !withCron) {
    const why = c.ex.kind === 'local' ? 'local executor' : c.transient ? 'transient host' : 'no crontab on the host'
    log.info(`${why}: the cell runs detached and will not come back after a reboot`, { host: c.ex.name })
  }
  await run(c, startService(c.layout, mode, c.imprintId, withCron), 'start the cell')
}

interface StatusView { members?: Array<{ liveness?: string }>, cell?: { id?: string } }

/** The parent's view of a new member: its peer id and how many members the parent sees alive, once it called home. */
export type CalledHome = () => { cellId: string, members: number } | null

/**
 * Waits until the new cell has joined: seen by the parent (calledHome, checked in memory), or else by asking the new
 * cell's own status until it sees members alive. A dead process ends the wait at once, with the end of its log.
 */
export async function waitJoined (c: StepContext, mode: ServiceMode, timeoutMs: number, calledHome?: CalledHome): Promise<{ cellId: string, members: number }> {
  const l = c.layout
  const deadline = Date.now() + timeoutMs
  const alive = mode === 'systemd' ? 'systemctl --user is-active --quiet organism-cell.service' : `kill -0 "$(cat ${sh(l.pidFile)} 2>/dev/null)" 2>/dev/null`
  let last = ''
  // Asking the cell (`cell status`) boots Node on the host; until it has joined (organism.json) and its API is up
  // (cell.json), a file test is enough and much cheaper. With the parent's view, the host is only asked whether it runs.
  const ready = `[ -f ${sh(`${l.state}/organism.json`)} ] && [ -f ${sh(`${l.state}/cell.json`)} ]`
  const ask = calledHome != null ? 'echo WAIT' : `${sh(l.node)} ${sh(l.bundle)} status --json --state ${sh(l.state)}`
  const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
  const seenWithin = async (ms: number): Promise<ReturnType<CalledHome>> => {
    if (calledHome == null) { await sleep(ms); return null }
    for (const until = Date.now() + ms; ; await sleep(25)) {
      const seen = calledHome()
      if (seen != null || Date.now() >= until) return seen
    }
  }
  for (;;) {
    const r = await c.ex.exec(`if ! ${alive}; then echo DEAD; tail -c 1500 ${sh(l.outFile)} 2>/dev/null; elif ${ready}; then ${ask}; else echo WAIT; fi`, { signal: c.signal, timeoutMs: 20_000 })
    if (r.stdout.startsWith('DEAD')) throw imprintError('IMPRINT_START_FAILED', `the new cell on ${c.ex.name} exited: ${r.stdout.slice(5).trim().slice(-800)}`)
    if (calledHome == null && !r.stdout.startsWith('WAIT')) {
      try {
        const s = JSON.parse(r.stdout) as StatusView
        const members = (s.members ?? []).filter((m) => m.liveness === 'alive').length
        if (members >= 2) return { cellId: s.cell?.id ?? '', members }
        last = `${members} member(s) alive`
      } catch { last = (r.stderr.trim() || r.stdout.trim()).slice(-300) }
    }
    if (Date.now() > deadline) throw imprintError('IMPRINT_JOIN_TIMEOUT', `the new cell on ${c.ex.name} did not join within ${timeoutMs} ms (last: ${last || 'not seen by the parent'})`)
    const seen = await seenWithin(calledHome != null ? 250 : r.stdout.startsWith('WAIT') ? 100 : 300)
    if (seen != null) return seen
  }
}

/** The imprint is complete: the spent token goes, the journal becomes the mark that this host holds our cell. */
export async function finish (c: StepContext): Promise<void> {
  await run(c, `rm -f ${sh(c.layout.tokenFile)} && mv "$HOME"/${JOURNAL} "$HOME"/${DONE_FILE}`, 'finish')
}
