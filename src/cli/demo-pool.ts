// The demo's pool of empty hosts on this machine: loopback sshd hosts where OpenSSH's sshd is installed, else directories run by the local executor.
import { access, mkdir, readFile } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { logger } from '../core/log.ts'
import { localTarget, parsePin, retireHost, sshTarget } from '../imprint/index.ts'
import type { ImprintTarget, PoolHost } from '../imprint/index.ts'
import type { Lab } from '../lab/index.ts'

const log = logger('demo')

/** Where the demo's local-executor hosts listen: far from the lab's 127.0.<lab>.x blocks, which count up from 1. */
const LOCAL_BLOCK = '127.0.77'

export interface DemoPool {
  /** 'ssh': real sshd per host on 127.0.x.y; 'local': no sshd here, the same steps as local processes. */
  readonly kind: 'ssh' | 'local'
  readonly hosts: readonly PoolHost[]
  /** The client key the loopback sshd hosts accept (ssh kind only). */
  readonly privateKey: string | null
  /** How to reach a demo host; null for hosts that are not the demo's. */
  readonly targetFor: (host: PoolHost) => ImprintTarget | null
  readonly close: () => Promise<void>
}

export type DemoPoolChoice = 'auto' | 'ssh' | 'local' | 'none'

/** ORGANISM_DEMO_POOL chooses; anything else is an error rather than a silent default. */
export function demoPoolChoice (value: string | undefined): DemoPoolChoice {
  const v = value ?? 'auto'
  if (v === 'auto' || v === 'ssh' || v === 'local' || v === 'none') return v
  throw new Error(`ORGANISM_DEMO_POOL is "${v}"; use auto, ssh, local or none`)
}

async function sshdInstalled (): Promise<boolean> {
  return await access('/usr/sbin/sshd').then(() => true, () => false)
}

/** Demo hosts are transient: their cells run detached for this session and install nothing that outlives it. */
const demoLabels = (kind: string): Record<string, string> => ({ service: 'transient', demo: kind })

/** The demo's cells end with the demo: each host's imprint is undone from its journal (cell, functions, files). */
async function retireAll (hosts: readonly PoolHost[], target: (h: PoolHost) => ImprintTarget): Promise<void> {
  await Promise.all(hosts.map(async (h) => {
    try {
      const ex = await target(h).connect()
      try { if (await retireHost(ex) > 0) log.info('demo host retired', { host: h.url }) } finally { await ex.close() }
    } catch (err) { log.warn('could not retire a demo host', { host: h.url, err }) }
  }))
}

/**
 * Debian's sshd refuses to start without /run/sshd, which only its packaged service makes: as root the demo makes
 * it; otherwise it says exactly that, and what to type.
 */
export async function privsepDirReady (dir = '/run/sshd', root = process.getuid?.() === 0, warn: (line: string) => void = (line) => { log.warn(line) }): Promise<boolean> {
  if (await access(dir).then(() => true, () => false)) return true
  if (root) { await mkdir(dir, { recursive: true, mode: 0o755 }); return true }
  warn(`sshd is installed but ${dir} (its privilege separation directory) is missing, so it cannot start: run \`sudo mkdir -p ${dir}\` (or start the ssh service once) for demo hosts over SSH; using the local executor now`)
  return false
}

async function sshPool (count: number): Promise<DemoPool> {
  // Loaded only here: the shipped cell bundle leaves the lab out (a stub that throws CLI_CHECKOUT_ONLY), and an
  // 'auto' demo run from it falls back to the local executor below.
  const { createLab } = await import('../lab/index.ts')
  const lab: Lab = await createLab({ hosts: count, mode: 'loopback', ownerHandlesSignals: true })
  const hosts = lab.hosts.map((h): PoolHost => ({
    user: h.user, host: h.address, port: h.sshPort, url: `ssh://${h.user}@${h.address}:${h.sshPort}`, fingerprint: parsePin(h.hostKey), labels: demoLabels('loopback sshd')
  }))
  const privateKey = await readFile(lab.clientKey, 'utf8')
  return { kind: 'ssh', hosts, privateKey, targetFor: () => null, close: async () => { await retireAll(hosts, (h) => sshTarget(h, privateKey, 5_000)); await lab.destroy() } }
}

async function localPool (stateDir: string, count: number, why: string | null = 'the loopback sshd hosts could not be used'): Promise<DemoPool> {
  const hosts: PoolHost[] = []
  const homes = new Map<string, string>()
  for (let i = 0; i < count; i++) {
    const address = `${LOCAL_BLOCK}.${i + 2}`
    const home = join(stateDir, 'demo-hosts', `h${i + 1}`)
    await mkdir(home, { recursive: true, mode: 0o700 })
    const url = `local://${address}`
    homes.set(url, home)
    hosts.push({ user: userInfo().username, host: address, port: 0, url, fingerprint: '', labels: demoLabels('local executor') })
  }
  if (why != null) log.warn(`${why}: the demo divides onto local directories with the local executor (the same steps, without SSH)`)
  const targetFor = (h: PoolHost): ImprintTarget | null => { const home = homes.get(h.url); return home == null ? null : localTarget(home) }
  return { kind: 'local', hosts, privateKey: null, targetFor, close: async () => { await retireAll(hosts, (h) => targetFor(h) as ImprintTarget) } }
}

/** Starts the demo's pool; 'none' (or a lab that cannot start) gives an empty pool and says why. */
export async function startDemoPool (stateDir: string, choice: DemoPoolChoice, count = 3): Promise<DemoPool> {
  const empty: DemoPool = { kind: 'local', hosts: [], privateKey: null, targetFor: () => null, close: async () => {} }
  if (choice === 'none') return empty
  if (choice === 'local' || (choice === 'auto' && !await sshdInstalled())) return await localPool(stateDir, count, 'sshd is not installed here')
  if (choice === 'auto' && !await privsepDirReady()) return await localPool(stateDir, count, null)
  try {
    return await sshPool(count)
  } catch (err) {
    if (choice === 'ssh') throw err
    log.warn('the loopback sshd hosts did not start; using the local executor', { err })
    return await localPool(stateDir, count, null)
  }
}
