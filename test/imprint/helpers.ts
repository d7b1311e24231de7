// Shared pieces of the imprint tests: a lab with its SSH targets, leftover checks on a host, the parent cell.
import { readFileSync } from 'node:fs'
import type { Lab, LabHost } from '../../src/lab/index.ts'
import type { PoolHost } from '../../src/imprint/index.ts'
import { parsePin } from '../../src/imprint/index.ts'

export const isRoot = process.getuid?.() === 0

export function poolHost (h: LabHost): PoolHost {
  return { user: h.user, host: h.address, port: h.sshPort, url: `ssh://${h.user}@${h.address}:${h.sshPort}`, fingerprint: parsePin(h.hostKey), labels: {} }
}

export function clientKey (lab: Lab): string { return readFileSync(lab.clientKey, 'utf8') }

/** The address of the lab's root side: what a lab host dials to reach the test process. */
export function rootAddress (lab: Lab): string { return `10.213.${lab.id}.1` }

/** What a host holds that could be ours: home entries, the user's processes (sshd sessions aside), crontab. */
export async function hostState (lab: Lab, name: string): Promise<{ home: string[], procs: string[], cron: string }> {
  const h = lab.host(name)
  const ls = await lab.exec(name, ['find', h.home, '-mindepth', '1'])
  const ps = await lab.exec(name, ['ps', '-u', h.user, '-o', 'pid=,args='], { user: 'root' })
  // A <defunct> entry has exited already and only waits for its parent to reap it: nothing of ours runs there.
  const procs = ps.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/sshd/.test(l) && !/<defunct>/.test(l))
  const cron = await lab.exec(name, ['sh', '-c', 'command -v crontab >/dev/null && crontab -l 2>/dev/null; true'])
  return { home: ls.stdout.split('\n').filter((l) => l !== '').sort(), procs, cron: cron.stdout }
}
