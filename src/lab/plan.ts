// Pure planning of a lab: names, addresses, paths, sshd configs and host-key lines; no I/O here.
import { createHash } from 'node:crypto'
import { join } from 'node:path'

/** In the environment of every process of a lab: how teardown finds them. */
export const LAB_ENV_MARKER = 'ORGANISM_LAB'

export type LabMode = 'netns' | 'loopback'

/** Every name the lab creates starts with this, so labs can be found and told apart. */
export const LAB_PREFIX = 'orgl'

export interface HostPlan {
  readonly name: string // h1, h2, …
  readonly index: number // 1-based
  readonly address: string
  readonly sshPort: number // 22 in netns mode; filled in at start in loopback mode (0 until then)
  readonly user: string
  readonly home: string
  readonly dir: string // the host's lab-owned files: sshd config, host key, pid file, log, authorized_keys
  readonly netns: string // '' in loopback mode
  readonly bridgePort: string // the bridge-side end of the host's veth (inside the bridge namespace)
}

export interface LabPlan {
  readonly id: number // 1-254, also the third octet of the subnet
  readonly prefix: string // orgl<id>
  readonly mode: LabMode
  readonly dir: string
  readonly subnet: string
  readonly bridgeNetns: string
  readonly rootLink: string // the veth end in the root namespace that lets the test process reach the hosts
  readonly rootAddress: string
  readonly clientKey: string
  readonly hosts: readonly HostPlan[]
}

export interface PlanInput {
  readonly id: number
  readonly hosts: number
  readonly mode: LabMode
  readonly dir: string
  /** The user that owns every host in loopback mode (the current user). */
  readonly currentUser: string
}

export function labPrefix (id: number): string { return `${LAB_PREFIX}${id}` }

export function planLab (input: PlanInput): LabPlan {
  const prefix = labPrefix(input.id)
  const hosts: HostPlan[] = []
  for (let i = 1; i <= input.hosts; i++) {
    const name = `h${i}`
    const dir = join(input.dir, name)
    hosts.push({
      name,
      index: i,
      address: input.mode === 'netns' ? `10.213.${input.id}.${i + 1}` : `127.0.${input.id}.${i + 1}`,
      sshPort: input.mode === 'netns' ? 22 : 0,
      user: input.mode === 'netns' ? `${prefix}-${name}` : input.currentUser,
      home: join(input.dir, 'home', name),
      dir,
      netns: input.mode === 'netns' ? `${prefix}-${name}` : '',
      bridgePort: name
    })
  }
  return {
    id: input.id,
    prefix,
    mode: input.mode,
    dir: input.dir,
    subnet: input.mode === 'netns' ? `10.213.${input.id}.0/24` : `127.0.${input.id}.0/24`,
    bridgeNetns: input.mode === 'netns' ? `${prefix}-br` : '',
    rootLink: input.mode === 'netns' ? prefix : '',
    rootAddress: input.mode === 'netns' ? `10.213.${input.id}.1` : '',
    clientKey: join(input.dir, 'client', 'id_ed25519'),
    hosts
  }
}

/** The `ip` commands (argv without the leading "ip") that build the netns network, in order. */
export function networkCommands (plan: LabPlan): string[][] {
  const br = plan.bridgeNetns
  const cmds: string[][] = [
    ['netns', 'add', br],
    ['-n', br, 'link', 'set', 'lo', 'up'],
    // STP off and no forward delay: a healed port forwards at once, so heal() is immediate.
    ['-n', br, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'],
    ['-n', br, 'link', 'set', 'br0', 'up'],
    ['link', 'add', plan.rootLink, 'type', 'veth', 'peer', 'name', 'up0', 'netns', br],
    ['-n', br, 'link', 'set', 'up0', 'master', 'br0', 'up'],
    ['addr', 'add', `${plan.rootAddress}/24`, 'dev', plan.rootLink],
    ['link', 'set', plan.rootLink, 'up']
  ]
  for (const h of plan.hosts) {
    cmds.push(
      ['netns', 'add', h.netns],
      ['-n', h.netns, 'link', 'set', 'lo', 'up'],
      ['-n', br, 'link', 'add', h.bridgePort, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.netns],
      ['-n', br, 'link', 'set', h.bridgePort, 'master', 'br0', 'up'],
      ['-n', h.netns, 'addr', 'add', `${h.address}/24`, 'dev', 'eth0'],
      ['-n', h.netns, 'link', 'set', 'eth0', 'up']
    )
  }
  return cmds
}

export function sshdConfig (plan: LabPlan, host: HostPlan): string {
  return [
    `# sshd for lab host ${host.name} of ${plan.prefix}; made by src/lab, removed with the lab`,
    `ListenAddress ${host.address}`,
    `Port ${host.sshPort}`,
    `HostKey ${join(host.dir, 'ssh_host_ed25519_key')}`,
    `PidFile ${join(host.dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(host.dir, 'authorized_keys')}`,
    `AllowUsers ${host.user}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    // The lab dir lives under /tmp (world-writable), which StrictModes would reject; the files are lab-owned.
    'StrictModes no',
    // PAM would need a password-less account set up for it; keys alone are enough here.
    'UsePAM no',
    `PermitRootLogin ${host.user === 'root' ? 'prohibit-password' : 'no'}`,
    'X11Forwarding no',
    'PrintMotd no',
    'UseDNS no',
    'Subsystem sftp internal-sftp',
    // Loopback hosts share the current user, whose real home sshd will cd into; $HOME points at the host's own dir.
    // The lab's marker reaches everything started over SSH, so teardown finds it there too (no user of its own to go by).
    ...(plan.mode === 'loopback' ? [`SetEnv HOME=${host.home} ${LAB_ENV_MARKER}=${plan.prefix}`] : []),
    ''
  ].join('\n')
}

/** A known_hosts line for the host: "addr key" on port 22, "[addr]:port key" otherwise. */
export function knownHostsLine (address: string, port: number, publicKey: string): string {
  const [type, blob] = publicKey.trim().split(/\s+/)
  const who = port === 22 ? address : `[${address}]:${port}`
  return `${who} ${type} ${blob}`
}

/** The OpenSSH SHA256 fingerprint of a public key line ("ssh-ed25519 AAAA… comment"). */
export function fingerprint (publicKey: string): string {
  const blob = publicKey.trim().split(/\s+/)[1] ?? ''
  return 'SHA256:' + createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '')
}
