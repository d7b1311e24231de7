// A trial run of a function's next version beside the one that serves: its own port, a copy of the data (so that
// nothing it does reaches the real data), health polled until it passes or the start timeout; then it is stopped.
// An update switches a function only after its trial passed, so a version that cannot start never takes traffic.
import { cp, mkdir, rm } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import { get as httpGet } from 'node:http'
import { dirBytes } from '../core/dir-bytes.ts'
import { freePort, probe } from './net.ts'
import { sleep, terminateGroup } from './proc.ts'
import { runToEnd, spawnShell } from './spawn.ts'
import type { Wrap } from './spawn.ts'
import type { RotatingLog } from './logfile.ts'
import type { FunctionSpec } from '../genome/types.ts'

/** Data dirs larger than this are not copied for a trial: it starts on an empty one. */
export const TRIAL_COPY_MAX_BYTES = 1024 * 1024 * 1024

export interface TrialKit {
  readonly spec: FunctionSpec
  readonly dataDir: string
  /** Where the copy goes (removed after). */
  readonly scratch: string
  readonly env: (port: number | null, dataDir: string) => NodeJS.ProcessEnv
  /** How to run it confined like the function itself, given its data dir; undefined when not confined. */
  readonly wrap: (dataDir: string) => Promise<Wrap | undefined>
  readonly log: RotatingLog
  readonly usedPorts: Set<number>
  readonly startTimeoutMs: number
  readonly setupTimeoutMs: number
  readonly stopGraceMs: number
  /** Reads the function answered 2xx of late, asked again of the trial once it is healthy; `judge` says if it failed. */
  readonly replay?: Replay
}

export interface Replay { readonly host: string, readonly paths: readonly string[], readonly judge: (errors: number, total: number) => string | null }

/** One GET of the trial process: its status, 0 when it did not answer within 5 s. */
function get (port: number, host: string, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = httpGet({ host: '127.0.0.1', port, path, headers: { host }, timeout: 5_000, agent: false }, (res) => { res.resume(); res.on('end', () => { resolve(res.statusCode ?? 0) }); res.on('error', () => { resolve(0) }) })
    req.on('timeout', () => { req.destroy() })
    req.on('error', () => { resolve(0) })
  })
}

/** The recent reads asked of the healthy trial: null when the judge lets them pass. */
async function replayed (port: number, r: Replay | undefined): Promise<string | null> {
  if (r == null || r.paths.length === 0) return null
  let errors = 0
  for (const path of r.paths) { const status = await get(port, r.host, path); if (status === 0 || status >= 500) errors++ }
  const why = r.judge(errors, r.paths.length)
  return why == null ? null : `it answered ${why} (recent reads asked of it again)`
}

/** Null when the next version started and passed health; else why not, in words. */
export async function trialRun (k: TrialKit): Promise<string | null> {
  await rm(k.scratch, { recursive: true, force: true })
  await mkdir(k.scratch, { recursive: true, mode: 0o700 })
  try {
    if (await dirBytes(k.dataDir).catch(() => 0) <= TRIAL_COPY_MAX_BYTES) await cp(k.dataDir, k.scratch, { recursive: true, force: true }).catch(() => {})
    const wrap = await k.wrap(k.scratch)
    if (k.spec.setup != null) {
      k.log.line('cell', `trial: setup: ${k.spec.setup}`)
      const r = await runToEnd(k.spec.setup, k.spec.codeDir, k.env(null, k.scratch), k.log, k.setupTimeoutMs, k.stopGraceMs, undefined, wrap)
      if (r.code !== 0) return `its setup ${r.timedOut ? 'timed out' : `exited with code ${r.code ?? r.signal ?? '?'}`}`
    }
    const port = await freePort(k.usedPorts)
    k.usedPorts.add(port)
    k.log.line('cell', `trial: start on port ${port}: ${k.spec.start}`)
    const proc = spawnShell(k.spec.start, k.spec.codeDir, { ...k.env(port, k.scratch), ORGANISM_TRIAL: randomUUID() }, k.log, 'trial ', wrap)
    let exited: string | null = null
    void proc.exited.then((r) => { exited = `it exited with ${r.signal ?? `code ${r.code ?? '?'}`}` })
    try {
      const deadline = Date.now() + k.startTimeoutMs
      while (Date.now() < deadline && exited == null) {
        if (await probe(port, k.spec.health, Math.min(2_000, k.startTimeoutMs))) return await replayed(port, k.replay)
        await sleep(100)
      }
      return exited ?? `it did not answer 2xx on ${k.spec.health} within ${k.startTimeoutMs} ms`
    } finally {
      await terminateGroup(proc.pgid, k.stopGraceMs)
      k.usedPorts.delete(port)
    }
  } finally {
    await rm(k.scratch, { recursive: true, force: true })
  }
}
