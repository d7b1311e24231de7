// Shared checks for the lab tests: reach a port from inside a host, ssh with pinned keys, find leftovers.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Lab, LabHost } from '../../src/lab/index.ts'
import { run } from '../../src/lab/run.ts'
import { labProcesses } from '../../src/lab/teardown.ts'

export const isRoot = process.getuid?.() === 0

/** A private state dir, so these tests neither see nor collect labs of other sessions. */
export function testStateDir (): string { return mkdtempSync(join(tmpdir(), 'orgl-test-state-')) }

/** Tries a TCP connect to address:port from inside `from`, as its user; true when it connects. */
export async function canReach (lab: Lab, from: string, address: string, port: number): Promise<boolean> {
  const script = `const s=require('net').connect({host:${JSON.stringify(address)},port:${port}});` +
    "s.setTimeout(1500,()=>{console.log('timeout');process.exit(1)});" +
    "s.on('connect',()=>{console.log('connected');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(1)})"
  const r = await lab.exec(from, [process.execPath, '-e', script], { timeoutMs: 5000 })
  return r.code === 0
}

/** Runs a command over real OpenSSH with the lab's client key and strict host-key checking. */
export async function sshRun (lab: Lab, host: LabHost, command: string, knownHosts = lab.knownHosts): Promise<{ code: number, stdout: string, stderr: string }> {
  return await run(['ssh', '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', 'IdentitiesOnly=yes', '-o', 'ConnectTimeout=5', '-i', lab.clientKey, '-p', String(host.sshPort), `${host.user}@${host.address}`, command], { timeoutMs: 15_000 })
}

/** Everything on the machine that still carries the lab's prefix or lives in its dir. */
export function leftovers (prefix: string, dir: string): string[] {
  const out: string[] = []
  if (isRoot) {
    const ns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    for (const line of ns.split('\n')) if (line.startsWith(`${prefix}-`)) out.push(`netns ${line}`)
    const links = execFileSync('ip', ['-br', 'link'], { encoding: 'utf8' })
    for (const line of links.split('\n')) if (line.startsWith(prefix + ' ') || line.startsWith(prefix + '@')) out.push(`link ${line}`)
    const passwd = readFileSync('/etc/passwd', 'utf8')
    for (const line of passwd.split('\n')) if (line.startsWith(`${prefix}-`)) out.push(`user ${line}`)
  }
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
      if (cmd.includes(dir + '/')) out.push(`process ${pid} ${cmd}`)
    } catch { /* gone */ }
  }
  // Processes started by the lab carry its marker in their environment (the sleeper of the stale test does).
  for (const pid of labProcesses(prefix, new Set())) out.push(`marked process ${pid}`)
  if (existsSync(dir)) out.push(`dir ${dir}`)
  return out
}
