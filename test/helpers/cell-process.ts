// Runs the real `cell` CLI as a child process against a temporary state directory, for integration tests.
import { spawn, execFile } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { readFile, readdir } from 'node:fs/promises'
import { promisify } from 'node:util'
import { join } from 'node:path'
import http from 'node:http'

const root = new URL('../../', import.meta.url).pathname
export const cliMain = join(root, 'src', 'cli', 'main.ts')
const exec = promisify(execFile)

export interface CellProcess {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

export function spawnCell (args: string[], env: Record<string, string> = {}): CellProcess {
  const child = spawn(process.execPath, [cliMain, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { out += c.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => out, exited }
}

/** Runs `cell ARGS` to completion. */
export async function runCli (args: string[], env: Record<string, string> = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const r = await exec(process.execPath, [cliMain, ...args], { env: { ...process.env, ...env }, timeout: 60_000 })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

export async function waitFor<T> (what: string, probe: () => Promise<T | null | undefined | false>, { tries = 200, everyMs = 100 } = {}): Promise<T> {
  let last: unknown
  for (let i = 0; i < tries; i++) {
    try {
      const v = await probe()
      if (v != null && v !== false) return v
    } catch (err) { last = err }
    await new Promise((r) => setTimeout(r, everyMs))
  }
  throw new Error(`timed out waiting for ${what}${last != null ? `: ${String(last)}` : ''}`)
}

/** A plain HTTP request (to 127.0.0.1 unless an address is given) with a Host header. */
export function request (port: number, host: string, path: string, opts: { method?: string, body?: string | Buffer, headers?: Record<string, string>, address?: string } = {}): Promise<{ status: number, headers: http.IncomingHttpHeaders, body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: opts.address ?? '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: { host, ...(opts.body != null ? { 'content-type': 'application/json' } : {}), ...opts.headers }, timeout: 10_000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('timeout', () => req.destroy(new Error('request timed out')))
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** Pids of processes whose environment has DATA_DIR under this state directory, grouped by function. */
export async function functionProcesses (stateDir: string): Promise<Map<string, number[]>> {
  const found = new Map<string, number[]>()
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let env: string
    let cmd: string
    try {
      env = await readFile(`/proc/${entry}/environ`, 'utf8')
      cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8')
    } catch { continue }
    if (cmd.startsWith('sh\0') || cmd.startsWith('/bin/sh\0')) continue
    // A function confined as its own user sees its data dir at another path; the host's is in ORGANISM_HOST_DATA_DIR.
    const m = env.split('\0').find((kv) => kv.startsWith(`DATA_DIR=${stateDir}/`) || kv.startsWith(`ORGANISM_HOST_DATA_DIR=${stateDir}/`))
    if (m == null) continue
    const fn = m.slice(m.lastIndexOf('/') + 1)
    found.set(fn, [...(found.get(fn) ?? []), Number(entry)])
  }
  return found
}

/** Every process test cells under `dir` may leave when killed -9: their functions, and the etcd a holder runs. */
export async function leftoverProcesses (dir: string): Promise<Map<string, number[]>> {
  const found = await functionProcesses(dir)
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
    const args = cmd.split('\0')
    const data = args[args.indexOf('--data-dir') + 1]
    if (args.includes('--data-dir') && data?.startsWith(`${dir}/`) === true && /etcd$/.test(args[0] ?? '')) found.set('etcd', [...(found.get('etcd') ?? []), Number(entry)])
  }
  return found
}
