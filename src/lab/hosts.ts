// One lab host's user, keys and sshd: made from its plan, started as a child whose PID we keep.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { join } from 'node:path'
import type { HostPlan, LabPlan } from './plan.ts'
import { fingerprint, knownHostsLine, sshdConfig } from './plan.ts'
import { labError } from './errors.ts'
import { mustRun, run } from './run.ts'
import { LAB_ENV_MARKER } from './teardown.ts'

export const SSHD = '/usr/sbin/sshd'

export async function makeKey (path: string, comment: string): Promise<string> {
  await mustRun(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path])
  return readFileSync(`${path}.pub`, 'utf8').trim()
}

// useradd takes a lock on /etc/passwd and fails at once when another useradd holds it; serialise ours and retry.
let userQueue: Promise<unknown> = Promise.resolve()

export async function addUser (host: HostPlan): Promise<void> {
  const job = userQueue.then(async () => {
    for (let attempt = 0; ; attempt++) {
      // '*' as password: no password login, yet not "locked", which sshd without PAM would refuse.
      const r = await run(['useradd', '-m', '-d', host.home, '-s', '/bin/sh', '-p', '*', '-c', 'organism lab host', host.user])
      if (r.code === 0) return
      if (attempt >= 30 || !/lock|try again/i.test(r.stderr)) {
        throw labError('LAB_COMMAND_FAILED', `useradd ${host.user} exited ${r.code}: ${r.stderr.trim()}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  })
  userQueue = job.catch(() => {})
  await job
}

/** A free TCP port on address (loopback mode: each host's sshd gets its own). */
export async function freePort (address: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, address, () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })
}

/** True when something at address:port answers with an SSH banner within timeoutMs. */
export async function probeSsh (address: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect({ host: address, port })
    const done = (ok: boolean): void => { clearTimeout(timer); socket.destroy(); resolve(ok) }
    const timer = setTimeout(() => done(false), timeoutMs)
    socket.once('data', (d) => done(d.toString('latin1').startsWith('SSH-')))
    socket.once('error', () => done(false))
    socket.once('close', () => done(false))
  })
}

export interface StartedHost {
  readonly plan: HostPlan
  readonly publicKey: string
  readonly hostKey: string
  readonly fingerprint: string
  readonly sshd: ChildProcess
}

/** Writes the host's keys and config, then starts its sshd (inside its namespace in netns mode) and waits for it. */
export async function startHost (lab: LabPlan, planned: HostPlan, clientPublicKey: string): Promise<StartedHost> {
  mkdirSync(planned.dir, { recursive: true, mode: 0o755 })
  const host: HostPlan = lab.mode === 'loopback' ? { ...planned, sshPort: await freePort(planned.address) } : planned
  if (lab.mode === 'loopback') mkdirSync(host.home, { recursive: true, mode: 0o700 })
  const publicKey = await makeKey(join(host.dir, 'ssh_host_ed25519_key'), `${lab.prefix}-${host.name}`)
  writeFileSync(join(host.dir, 'authorized_keys'), clientPublicKey + '\n', { mode: 0o644 })
  const config = join(host.dir, 'sshd_config')
  writeFileSync(config, sshdConfig(lab, host), { mode: 0o644 })
  if (!existsSync(SSHD)) throw labError('LAB_TOOL_MISSING', `${SSHD} is not installed`)
  const log = join(host.dir, 'sshd.log')
  const fd = openSync(log, 'a')
  // sshd wants an absolute path (it re-executes itself); -D keeps it our child, so its PID is the one we hold.
  const argv = lab.mode === 'netns' ? ['ip', 'netns', 'exec', host.netns, SSHD, '-D', '-e', '-f', config] : [SSHD, '-D', '-e', '-f', config]
  const sshd = spawn(argv[0], argv.slice(1), {
    detached: true, // its own process group: a Ctrl-C meant for the CLI does not kill a persistent lab
    stdio: ['ignore', fd, fd],
    env: { PATH: process.env.PATH, [LAB_ENV_MARKER]: lab.prefix }
  })
  closeSync(fd)
  sshd.unref()
  let exited = false
  sshd.once('exit', () => { exited = true })
  const deadline = Date.now() + 10_000
  while (!(await probeSsh(host.address, host.sshPort, 500))) {
    if (exited || Date.now() > deadline) {
      sshd.kill('SIGKILL')
      throw labError('LAB_SSHD_FAILED', `sshd of ${lab.prefix}-${host.name} did not listen on ${host.address}:${host.sshPort}; log ${log}: ${readFileSync(log, 'utf8').trim().slice(-500)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return { plan: host, publicKey, hostKey: knownHostsLine(host.address, host.sshPort, publicKey), fingerprint: fingerprint(publicKey), sshd }
}
