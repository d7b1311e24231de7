// Shared test helpers: temp state dirs, function specs for the fixture server, bounded waits, marker process counts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import type { FunctionSpec } from '../../src/genome/types.ts'
import { createSupervisor } from '../../src/supervisor/index.ts'
import type { Supervisor, SupervisorOptions } from '../../src/supervisor/index.ts'

export const fixtures = join(import.meta.dirname, 'fixtures')
export const serverCmd = `"${process.execPath}" "${join(fixtures, 'server.mjs')}"`

export function tempDir (t: TestContext, prefix = 'organism-sup-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export function fnSpec (name: string, over: Partial<FunctionSpec> = {}): FunctionSpec {
  return {
    name,
    codeDir: fixtures,
    code: 'fixtures',
    setup: null,
    start: serverCmd,
    port: null,
    health: '/health',
    stateful: false,
    replicas: 1,
    durability: 'sync',
    domain: `${name}.test.organism`,
    dns: 'owner',
    pathPrefix: null,
    env: {},
    ...over
  }
}

/** Creates and starts a supervisor that is stopped after the test, whatever happens. */
export async function startSupervisor (t: TestContext, opts: Partial<SupervisorOptions> & Pick<SupervisorOptions, 'functions'>): Promise<Supervisor> {
  const sup = createSupervisor({
    stateDir: opts.stateDir ?? tempDir(t),
    genomeVersion: 'v1',
    zone: 'test.organism',
    healthIntervalMs: 100,
    startTimeoutMs: 10_000,
    stopGraceMs: 2_000,
    sampleIntervalMs: 200,
    ...opts
  })
  t.after(() => sup.stop())
  await sup.start()
  return sup
}

/** Polls until check() returns a truthy value; fails after timeoutMs with what it was waiting for. */
export async function waitFor<T> (what: string, check: () => T | Promise<T>, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) return v as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

export async function waitState (sup: Supervisor, name: string, state: string, timeoutMs?: number): Promise<void> {
  await waitFor(`${name} to be ${state} (is ${sup.get(name)?.state})`, () => sup.get(name)?.state === state, timeoutMs)
}

export async function getText (port: number, path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5_000) })
  return await res.text()
}

/** Live processes spawned by a supervisor on stateDir (they carry ORGANISM_SPAWN and a DATA_DIR under it). */
export async function markedProcesses (stateDir: string): Promise<Array<{ pid: number, fn: string, token: string }>> {
  const out: Array<{ pid: number, fn: string, token: string }> = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8')
      if (/^\S+ \(.*\) Z /.test(stat)) continue
      const env = (await readFile(`/proc/${name}/environ`, 'utf8')).split('\0')
      const get = (k: string): string | undefined => env.find((e) => e.startsWith(k + '='))?.slice(k.length + 1)
      const token = get('ORGANISM_SPAWN')
      if (token != null && get('DATA_DIR')?.startsWith(stateDir + '/') === true) out.push({ pid: Number(name), fn: get('FUNCTION') ?? '', token })
    } catch { /* gone or unreadable */ }
  }
  return out
}

export function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\S+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}
