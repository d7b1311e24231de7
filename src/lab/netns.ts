// The netns side of the lab: building the network, cutting and healing links, and argv to run a command inside a host.
import { readFileSync } from 'node:fs'
import type { HostPlan, LabPlan } from './plan.ts'
import { networkCommands } from './plan.ts'
import { mustRun, run } from './run.ts'
import { LAB_ENV_MARKER } from './teardown.ts'

export async function buildNetwork (plan: LabPlan): Promise<void> {
  for (const args of networkCommands(plan)) await mustRun(['ip', ...args])
  // ip_unprivileged_port_start is per network namespace: 0 lets unprivileged cells bind 80 and 53 on that host only.
  await Promise.all(plan.hosts.map(async (h) =>
    await mustRun(['ip', 'netns', 'exec', h.netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_unprivileged_port_start=0'])))
}

/** Sets the bridge-side end of the host's veth down (cut) or up (heal); the host keeps its own address and routes. */
export async function setLink (plan: LabPlan, host: HostPlan, up: boolean): Promise<void> {
  await mustRun(['ip', '-n', plan.bridgeNetns, 'link', 'set', host.bridgePort, up ? 'up' : 'down'])
}

export async function linkIsUp (plan: LabPlan, host: HostPlan): Promise<boolean> {
  const r = await run(['ip', '-n', plan.bridgeNetns, '-br', 'link', 'show', host.bridgePort])
  return r.code === 0 && /<[^>]*\bUP\b/.test(r.stdout)
}

/** Numeric uid and gid of a user, from /etc/passwd. */
export function userIdentity (user: string): { uid: number, gid: number } | null {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':')
    if (f[0] === user) return { uid: Number(f[2]), gid: Number(f[3]) }
  }
  return null
}

export interface HostCommand { argv: string[], env: NodeJS.ProcessEnv, cwd: string }

/**
 * The argv that runs a command inside a host, as its user (setpriv, not runuser: no PAM session, and the
 * environment is exactly what we pass) or as root, with a small clean environment marked as the lab's.
 */
export function hostCommand (plan: LabPlan, host: HostPlan, argv: readonly string[], user: 'host' | 'root', env: NodeJS.ProcessEnv = {}): HostCommand {
  const asRoot = user === 'root'
  const name = asRoot ? 'root' : host.user
  const home = asRoot && plan.mode === 'netns' ? '/root' : host.home
  const baseEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
    HOME: home,
    USER: name,
    LOGNAME: name,
    SHELL: '/bin/sh',
    LANG: 'C.UTF-8',
    [LAB_ENV_MARKER]: plan.prefix,
    ...env
  }
  if (plan.mode === 'loopback') return { argv: [...argv], env: baseEnv, cwd: host.home }
  const inNs = ['ip', 'netns', 'exec', host.netns]
  if (asRoot) return { argv: [...inNs, ...argv], env: baseEnv, cwd: host.home }
  const id = userIdentity(host.user)
  if (id == null) throw new Error(`lab user ${host.user} does not exist`)
  return {
    argv: [...inNs, 'setpriv', `--reuid=${id.uid}`, `--regid=${id.gid}`, '--init-groups', '--', ...argv],
    env: baseEnv,
    cwd: host.home
  }
}
