// Preflight: one read-only probe of the host, and a pure verdict on what it printed. Nothing is written here.
import type { OrganismError } from '../core/errors.ts'
import { imprintError } from './errors.ts'
import { CLAIM_DIR, HOLDER_FILE } from './claim.ts'
import type { Holder } from './claim.ts'
import { parseHolder } from './claim.ts'

/** Where our things live on the host, relative to its home. */
export const ROOT_DIR = '.organism'
export const JOURNAL = `${CLAIM_DIR}/journal`
/** The journal renamed once the imprint is complete: the host then holds a cell of the claimant. */
export const DONE_FILE = `${CLAIM_DIR}/imprinted`

// Listening TCP sockets (state 0A) and bound UDP sockets (07) from /proc: no ss/netstat needed, and it reads only.
export const PROBE_SCRIPT = [
  'echo "home=$HOME"',
  'echo "uname=$(uname -sm 2>/dev/null)"',
  'echo "df=$(df -Pk "$HOME" 2>/dev/null | tail -n 1)"',
  'echo "git=$(git --version 2>/dev/null)"',
  'echo "sshkeygen=$(command -v ssh-keygen)"',
  'echo "writable=$( [ -d "$HOME" ] && [ -w "$HOME" ] && [ -x "$HOME" ] && echo yes || echo no)"',
  'echo "tcp=$(awk \'NR>1 && $4=="0A" {print $2}\' /proc/net/tcp /proc/net/tcp6 2>/dev/null | tr \'\\n\' \' \')"',
  'echo "udp=$(awk \'NR>1 && $4=="07" {print $2}\' /proc/net/udp /proc/net/udp6 2>/dev/null | tr \'\\n\' \' \')"',
  'echo "systemd=$( [ -d /run/systemd/system ] && systemctl --user show-environment >/dev/null 2>&1 && echo yes || echo no)"',
  'echo "crontab=$(command -v crontab)"',
  'echo "gzip=$(command -v gzip)"',
  'echo "zstd=$(command -v zstd)"',
  'echo "etcd=$(command -v etcd)"',
  `echo "node=$("$HOME/${ROOT_DIR}/runtime/node" --version 2>/dev/null)"`,
  `echo "holder=$(cat "$HOME/${CLAIM_DIR}/${HOLDER_FILE}" 2>/dev/null)"`,
  `echo "imprinted=$( [ -f "$HOME/${DONE_FILE}" ] && echo yes || echo no)"`
].join('\n')

/** A bound socket from /proc/net: addr null is a wildcard (0.0.0.0 or ::), "v6:…" another IPv6 address. */
export interface Bound { readonly addr: string | null, readonly port: number }

/** "0100007F:1F90" (little-endian IPv4, hex port) -> { addr: '127.0.0.1', port: 8080 }; a bare port is a wildcard. */
export function parseBound (entry: string): Bound {
  const [hexAddr, hexPort] = entry.includes(':') ? entry.split(':') : ['', entry]
  const port = parseInt(hexPort, 16)
  if (/^0+$/.test(hexAddr) || hexAddr === '') return { addr: null, port }
  if (hexAddr.length === 8) return { addr: (hexAddr.match(/../g) as string[]).reverse().map((b) => parseInt(b, 16)).join('.'), port }
  return { addr: `v6:${hexAddr.toLowerCase()}`, port }
}

/** Would listening on listen:port (listen absent = every IPv4 address) collide with this socket? */
function collides (b: Bound, port: number, listen: string | undefined): boolean {
  if (b.port !== port) return false
  if (b.addr == null) return true
  if (listen == null || listen === '0.0.0.0') return !b.addr.startsWith('v6:')
  return b.addr === listen
}

export interface Probe {
  readonly home: string
  readonly os: string
  readonly arch: string
  readonly availableKb: number | null
  readonly git: string | null
  readonly sshKeygen: boolean
  readonly writable: boolean
  readonly tcpPorts: readonly Bound[]
  readonly udpPorts: readonly Bound[]
  readonly systemd: boolean
  readonly crontab: boolean
  /** gzip, zstd on the host: the runtime can travel packed. */
  readonly gzip: boolean
  readonly zstd: boolean
  readonly nodeVersion: string | null
  /** An etcd on the host's PATH (the ownership store), or null. */
  readonly etcd: string | null
  readonly holder: Holder | null
  readonly imprinted: boolean
}

export function parseProbe (stdout: string): Probe {
  const v = new Map<string, string>()
  for (const line of stdout.split('\n')) {
    const at = line.indexOf('=')
    if (at > 0) v.set(line.slice(0, at), line.slice(at + 1).trim())
  }
  const [os = '', arch = ''] = (v.get('uname') ?? '').split(/\s+/)
  const dfCols = (v.get('df') ?? '').split(/\s+/)
  const avail = Number(dfCols[3])
  const ports = (s: string | undefined): Bound[] => (s ?? '').split(/\s+/).filter((x) => x !== '').map(parseBound)
  return {
    home: v.get('home') ?? '',
    os,
    arch,
    availableKb: dfCols.length >= 4 && Number.isFinite(avail) ? avail : null,
    git: /^git version/.test(v.get('git') ?? '') ? (v.get('git') as string) : null,
    sshKeygen: (v.get('sshkeygen') ?? '') !== '',
    writable: v.get('writable') === 'yes',
    tcpPorts: ports(v.get('tcp')),
    udpPorts: ports(v.get('udp')),
    systemd: v.get('systemd') === 'yes',
    crontab: (v.get('crontab') ?? '') !== '',
    gzip: (v.get('gzip') ?? '') !== '',
    zstd: (v.get('zstd') ?? '') !== '',
    nodeVersion: /^v\d+\./.test(v.get('node') ?? '') ? (v.get('node') as string) : null,
    etcd: (v.get('etcd') ?? '') !== '' ? (v.get('etcd') as string) : null,
    holder: parseHolder(v.get('holder') ?? ''),
    imprinted: v.get('imprinted') === 'yes'
  }
}

/** "linux-x64" and the like, as Node names platforms; null for hosts we cannot run on. */
export function platformOf (os: string, arch: string): string | null {
  if (os !== 'Linux') return null
  if (arch === 'x86_64' || arch === 'amd64') return 'linux-x64'
  if (arch === 'aarch64' || arch === 'arm64') return 'linux-arm64'
  return null
}

export interface PreflightWants {
  readonly tcpPorts: readonly number[]
  readonly udpPorts: readonly number[]
  readonly requiredKb: number
  /** The address the cell will listen on; absent or 0.0.0.0 means all IPv4 addresses. */
  readonly listen?: string
}

/** Every problem the probe shows, in the order a person would fix them; empty means go. */
export function preflightProblems (p: Probe, want: PreflightWants): OrganismError[] {
  const out: OrganismError[] = []
  if (platformOf(p.os, p.arch) == null) out.push(imprintError('IMPRINT_PREFLIGHT_OS', `the host runs "${p.os} ${p.arch}"; a cell runs on Linux x86_64 or arm64`))
  if (p.home === '' || !p.writable) out.push(imprintError('IMPRINT_PREFLIGHT_HOME', `the home directory "${p.home}" is missing or not writable`))
  if (p.availableKb == null) out.push(imprintError('IMPRINT_PREFLIGHT_DISK', 'cannot read the free space of the home directory (df -Pk)'))
  else if (p.availableKb < want.requiredKb) out.push(imprintError('IMPRINT_PREFLIGHT_DISK', `${Math.floor(p.availableKb / 1024)} MB free in ${p.home}, the cell needs ${Math.ceil(want.requiredKb / 1024)} MB`, { details: { availableKb: p.availableKb, requiredKb: want.requiredKb } }))
  if (p.git == null) out.push(imprintError('IMPRINT_PREFLIGHT_TOOL', 'git is not installed on the host (the cell verifies its genome with git)'))
  if (!p.sshKeygen) out.push(imprintError('IMPRINT_PREFLIGHT_TOOL', 'ssh-keygen is not installed on the host (git needs it to verify SSH-signed commits)'))
  for (const port of want.tcpPorts) if (port !== 0 && p.tcpPorts.some((b) => collides(b, port, want.listen))) out.push(imprintError('IMPRINT_PREFLIGHT_PORT', `TCP port ${port} is already in use on the host${want.listen != null ? ` (listening on ${want.listen})` : ''}`, { details: { port, proto: 'tcp' } }))
  for (const port of want.udpPorts) if (port !== 0 && p.udpPorts.some((b) => collides(b, port, want.listen))) out.push(imprintError('IMPRINT_PREFLIGHT_PORT', `UDP port ${port} is already in use on the host${want.listen != null ? ` (listening on ${want.listen})` : ''}`, { details: { port, proto: 'udp' } }))
  return out
}
