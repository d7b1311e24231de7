// Removing a lab from its plan alone, synchronously and idempotently, so it works at exit and for stale labs.
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import type { LabPlan } from './plan.ts'
import { LAB_ENV_MARKER } from './plan.ts'
import { runSync } from './run.ts'

/** Every process the lab starts carries this variable, so a lab's processes can be found after its maker died. */
export { LAB_ENV_MARKER }

export function userIds (names: readonly string[]): Map<string, number> {
  const out = new Map<string, number>()
  let passwd = ''
  try { passwd = readFileSync('/etc/passwd', 'utf8') } catch { return out }
  for (const line of passwd.split('\n')) {
    const [name, , uid] = line.split(':')
    if (names.includes(name)) out.set(name, Number(uid))
  }
  return out
}

/** PIDs owned by one of uids, or whose environment marks them as this lab's. */
export function labProcesses (prefix: string, uids: ReadonlySet<number>): number[] {
  const marker = `\0${LAB_ENV_MARKER}=${prefix}\0`
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const pid = Number(entry)
    if (pid === process.pid) continue
    try {
      if (uids.size > 0) {
        const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
        if (uid != null && uids.has(Number(uid))) { out.push(pid); continue }
      }
      if (('\0' + readFileSync(`/proc/${pid}/environ`, 'latin1')).includes(marker)) out.push(pid)
    } catch { /* gone, or not ours to read */ }
  }
  return out
}

function killAll (pids: Iterable<number>): void {
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ } }
}

function sleepSync (ms: number): void { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms) }

/** Tears down everything the plan names; each step ignores "not there". Returns what could not be removed. */
export function teardownPlan (plan: LabPlan, sshdPids: readonly number[] = []): string[] {
  const problems: string[] = []
  const netns = plan.mode === 'netns'
  const users = netns ? plan.hosts.map((h) => h.user) : []
  const uids = new Set(userIds(users).values())
  // Processes first: a namespace with processes in it lingers, and userdel refuses a user with processes.
  for (let round = 0; round < 3; round++) {
    const pids = new Set<number>()
    if (netns) {
      for (const ns of [...plan.hosts.map((h) => h.netns), plan.bridgeNetns]) {
        for (const p of runSync(['ip', 'netns', 'pids', ns]).stdout.split(/\s+/)) if (p !== '') pids.add(Number(p))
      }
    }
    for (const pid of sshdPids) if (isLabSshd(pid, plan)) pids.add(pid)
    for (const pid of labProcesses(plan.prefix, uids)) pids.add(pid)
    pids.delete(process.pid)
    if (pids.size === 0) break
    killAll(pids)
    sleepSync(30)
  }
  if (netns) {
    // Deleting a namespace destroys the veths in it, and with them their peers (the root link included).
    for (const ns of [...plan.hosts.map((h) => h.netns), plan.bridgeNetns]) runSync(['ip', 'netns', 'del', ns])
    runSync(['ip', 'link', 'del', plan.rootLink])
    for (const user of users) {
      if (!userIds([user]).has(user)) continue
      // A host's crontab (an imprinted cell's @reboot line) lives outside its home; userdel leaves it behind.
      runSync(['rm', '-f', `/var/spool/cron/crontabs/${user}`])
      // Another lab may hold the passwd lock for a moment; userdel then exits non-zero and is retried.
      for (let attempt = 0; attempt < 20; attempt++) {
        if (runSync(['userdel', user]).code === 0 || !userIds([user]).has(user)) break
        sleepSync(100)
      }
      if (userIds([user]).has(user)) problems.push(`user ${user}`)
    }
    const left = runSync(['ip', 'netns', 'list']).stdout
    for (const ns of [...plan.hosts.map((h) => h.netns), plan.bridgeNetns]) {
      if (new RegExp(`^${ns}( |$)`, 'm').test(left)) problems.push(`netns ${ns}`)
    }
  }
  try { rmSync(plan.dir, { recursive: true, force: true }) } catch (err) { problems.push(`${plan.dir}: ${(err as Error).message}`) }
  return problems
}

/** True when pid is still the sshd this lab started (its command line names the host's config), not a reused PID. */
function isLabSshd (pid: number, plan: LabPlan): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    return plan.hosts.some((h) => cmdline.includes(h.dir + '/'))
  } catch { return false }
}
