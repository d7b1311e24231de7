// The pool on disk (genome `hosts:` file, <state>/hosts.yaml) and `hosts add`; targets that connect to a pool host.
import { readFile } from 'node:fs/promises'
import { writeFileAtomic } from '../core/atomic-file.ts'
import { join } from 'node:path'
import { logger } from '../core/log.ts'
import type { ImprintTarget } from './imprint.ts'
import { LocalExecutor } from './local.ts'
import type { PoolHost } from './pool.ts'
import { formatHostUrl, formatPool, mergePools, parseHostUrl, parsePin, parsePool } from './pool.ts'
import { SshExecutor } from './ssh.ts'

const log = logger('imprint')

export const STATE_POOL = 'hosts.yaml'

async function readPoolFile (file: string): Promise<PoolHost[]> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return ''; throw err })
  return parsePool(text, file)
}

/** The pool: the genome's hosts file (the `hosts:` path in organism.yaml, if any) and the cell's private one. */
export async function loadPool (stateDir: string, genomeHostsFile?: string): Promise<PoolHost[]> {
  const fromGenome = genomeHostsFile != null ? await readPoolFile(genomeHostsFile) : []
  return mergePools(fromGenome, await readPoolFile(join(stateDir, STATE_POOL)))
}

export interface AddHostOptions {
  readonly privateKey: string | Buffer
  /** The expected key (fingerprint or known_hosts line); the host must show exactly this one. */
  readonly hostKey?: string
  /** Trust on first use: pin whatever key the host shows (it is printed). */
  readonly acceptNewHostKey?: boolean
  readonly labels?: Readonly<Record<string, string>>
  readonly print?: (line: string) => void
  readonly signal?: AbortSignal
}

/** Connects, and pins the host's key in <state>/hosts.yaml (mode 0600) only when it matches or TOFU was asked for. */
export async function addHost (stateDir: string, url: string, opts: AddHostOptions): Promise<PoolHost> {
  const addr = parseHostUrl(url)
  const expected = opts.hostKey != null ? parsePin(opts.hostKey) : null
  const ex = await SshExecutor.connect(addr, {
    privateKey: opts.privateKey,
    fingerprint: expected,
    acceptKey: () => opts.acceptNewHostKey === true,
    signal: opts.signal
  })
  await ex.close()
  if (expected == null) (opts.print ?? console.log)(`${formatHostUrl(addr)}: trusting host key ${ex.fingerprint} on first use`)
  const host: PoolHost = { ...addr, url: formatHostUrl(addr), fingerprint: ex.fingerprint, labels: opts.labels ?? {} }
  const file = join(stateDir, STATE_POOL)
  const next = mergePools(await readPoolFile(file), [host])
  await writeFileAtomic(file, formatPool(next), 0o600)
  log.info('host pinned', { host: host.url, fingerprint: host.fingerprint })
  return host
}

/** A pool host reached over SSH with its pinned key; the private key stays in this process's memory. */
export function sshTarget (host: PoolHost, privateKey: string | Buffer, timeoutMs?: number): ImprintTarget {
  return { name: host.url, connect: async (signal) => await SshExecutor.connect(host, { privateKey, fingerprint: host.fingerprint, signal, timeoutMs }) }
}

/** This machine, without SSH: the steps run as local processes with dir as the home. */
export function localTarget (dir: string): ImprintTarget {
  return { name: `local (no SSH) ${dir}`, connect: async () => new LocalExecutor(dir) }
}
