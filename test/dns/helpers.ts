// DNS test helpers: the real `dig`, a real BIND 9 `named` in a temp dir (always killed), free ports.
import { execFile, spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { mkdtemp, writeFile, rm } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { createSocket } from 'node:dgram'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { TestContext } from 'node:test'

/** Fails (never skips) when a Debian tool is missing, saying which package brings it. */
export function requireTool (tool: string, pkg: string): string {
  for (const dir of ['/usr/bin', '/usr/sbin', '/bin', '/sbin', ...(process.env.PATH ?? '').split(':')]) {
    const path = join(dir, tool)
    try { accessSync(path, constants.X_OK); return path } catch {}
  }
  throw new Error(`\`${tool}\` is not installed; the DNS tests need it: apt-get install -y ${pkg}`)
}

export interface DigResult { status: string, flags: string[], answer: string[], authority: string[], additional: string[], raw: string }

/** Runs dig against 127.0.0.1:port and parses the sections it prints. */
export async function dig (port: number, args: string[]): Promise<DigResult> {
  const bin = requireTool('dig', 'bind9-dnsutils')
  const raw = await new Promise<string>((resolve, reject) => {
    execFile(bin, ['@127.0.0.1', '-p', String(port), '+norec', '+time=2', '+tries=1', ...args], { timeout: 15_000 }, (err, stdout) => {
      if (err != null && stdout === '') reject(err)
      else resolve(stdout)
    })
  })
  const section = (title: string): string[] => {
    const m = raw.match(new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`))
    return m == null ? [] : m[1].split('\n').filter((l) => l !== '' && !l.startsWith(';')).map((l) => l.replace(/\s+/g, ' ').trim())
  }
  return {
    status: raw.match(/status: ([A-Z]+)/)?.[1] ?? 'NONE',
    flags: raw.match(/;; flags: ([a-z ]+);/)?.[1].trim().split(' ') ?? [],
    answer: section('ANSWER'),
    authority: section('AUTHORITY'),
    additional: section('ADDITIONAL'),
    raw
  }
}

/** dig +short, one line per record. */
export async function digShort (port: number, args: string[]): Promise<string[]> {
  const r = await dig(port, [...args, '+short'])
  return r.raw.split('\n').filter((l) => l !== '' && !l.startsWith(';')).sort()
}

/** A port free on 127.0.0.1 for both UDP and TCP at the time of asking. */
export async function freePort (): Promise<number> {
  for (;;) {
    const tcp = createServer()
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve))
    const port = (tcp.address() as { port: number }).port
    const udp = createSocket('udp4')
    const ok = await new Promise<boolean>((resolve) => { udp.once('error', () => resolve(false)); udp.bind(port, '127.0.0.1', () => resolve(true)) })
    udp.close()
    await new Promise<void>((resolve) => tcp.close(() => resolve()))
    if (ok) return port
  }
}

async function acceptsTcp (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

export interface Named { port: number, dir: string, key: { name: string, algorithm: 'hmac-sha256', secret: string }, log: () => string, stop: () => Promise<void> }

/** Starts a real BIND 9 primary for `zone` in a temp dir, with a TSIG key allowed to update it; stopped after the test. */
export async function startNamed (t: TestContext, zone: string): Promise<Named> {
  const bin = requireTool('named', 'bind9')
  const dir = await mkdtemp(join(tmpdir(), 'organism-named-'))
  const port = await freePort()
  const key = { name: 'organism-key', algorithm: 'hmac-sha256' as const, secret: randomBytes(32).toString('base64') }
  await writeFile(join(dir, `${zone}.zone`), [
    '$TTL 300',
    `@ IN SOA ns1.${zone}. hostmaster.${zone}. 1 300 60 86400 5`,
    `@ IN NS ns1.${zone}.`,
    'ns1 IN A 127.0.0.1',
    'static IN A 192.0.2.99', ''
  ].join('\n'))
  await writeFile(join(dir, 'named.conf'), `
options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  session-keyfile "${dir}/session.key";
  managed-keys-directory "${dir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  notify no;
};
controls { };
key "${key.name}" { algorithm hmac-sha256; secret "${key.secret}"; };
zone "${zone}" { type primary; file "${dir}/${zone}.zone"; update-policy { grant ${key.name} zonesub ANY; }; };
`)
  let output = ''
  const child = spawn(bin, ['-g', '-4', '-n', '1', '-c', join(dir, 'named.conf')], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.on('data', (c: Buffer) => { output += c.toString() })
  child.stderr.on('data', (c: Buffer) => { output += c.toString() })
  // If the test process dies before t.after runs, named must not outlive it.
  const killOnExit = (): void => { child.kill('SIGKILL') }
  process.once('exit', killOnExit)
  const exited = new Promise<void>((resolve) => child.once('exit', () => { process.off('exit', killOnExit); resolve() }))
  let stopped = false
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true
      if (child.exitCode == null && child.signalCode == null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
      await rm(dir, { recursive: true, force: true })
    }
  }
  t.after(stop)
  const deadline = Date.now() + 15_000
  // Not /running/: named's first line is "running as: named …", long before it listens.
  while (!/all zones loaded/.test(output) || !(await acceptsTcp(port))) {
    if (child.exitCode != null || Date.now() > deadline) {
      await stop()
      throw new Error(`named did not start (exit ${child.exitCode}):\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { port, dir, key, log: () => output, stop }
}
