// The lab's pure planning: names, addresses, network commands, sshd config, key lines; and its error docs fragment.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fingerprint, knownHostsLine, planLab, sshdConfig } from '../../src/lab/index.ts'
import { networkCommands } from '../../src/lab/plan.ts'

test('a netns plan: prefixed namespaces and users, 10.213.<id>.0/24, h1 at .2, sshd on 22', () => {
  const plan = planLab({ id: 7, hosts: 3, mode: 'netns', dir: '/tmp/orgl7-x', currentUser: 'me' })
  assert.equal(plan.prefix, 'orgl7')
  assert.equal(plan.bridgeNetns, 'orgl7-br')
  assert.equal(plan.rootLink, 'orgl7')
  assert.equal(plan.rootAddress, '10.213.7.1')
  assert.deepEqual(plan.hosts.map((h) => [h.name, h.address, h.sshPort, h.user, h.netns]), [
    ['h1', '10.213.7.2', 22, 'orgl7-h1', 'orgl7-h1'],
    ['h2', '10.213.7.3', 22, 'orgl7-h2', 'orgl7-h2'],
    ['h3', '10.213.7.4', 22, 'orgl7-h3', 'orgl7-h3']
  ])
  assert.equal(plan.hosts[0].home, '/tmp/orgl7-x/home/h1')
  // Interface names must fit Linux's 15 characters, even for lab 254.
  assert.ok(planLab({ id: 254, hosts: 1, mode: 'netns', dir: '/d', currentUser: 'me' }).rootLink.length <= 15)
})

test('a loopback plan: the current user, 127.0.<id>.<n+1>, port chosen at start', () => {
  const plan = planLab({ id: 9, hosts: 2, mode: 'loopback', dir: '/tmp/orgl9-x', currentUser: 'me' })
  assert.deepEqual(plan.hosts.map((h) => [h.address, h.user, h.sshPort, h.netns]), [['127.0.9.2', 'me', 0, ''], ['127.0.9.3', 'me', 0, '']])
})

test('network commands make the bridge namespace first, then each host, and never touch the root namespace beyond its own veth', () => {
  const cmds = networkCommands(planLab({ id: 7, hosts: 2, mode: 'netns', dir: '/d', currentUser: 'me' }))
  assert.deepEqual(cmds[0], ['netns', 'add', 'orgl7-br'])
  const rootNs = cmds.filter((c) => c[0] !== '-n' && c[0] !== 'netns')
  // Only the lab's own veth (orgl7) is configured in the root namespace: no routes, no forwarding, no NAT.
  assert.ok(rootNs.every((c) => c.includes('orgl7')), JSON.stringify(rootNs))
  assert.ok(!cmds.some((c) => c.includes('route') || c.includes('default')))
  assert.ok(cmds.some((c) => c.join(' ') === '-n orgl7-h2 addr add 10.213.7.3/24 dev eth0'))
})

test('sshd config: listens on the host address only, keys only, the host user only', () => {
  const plan = planLab({ id: 7, hosts: 1, mode: 'netns', dir: '/d', currentUser: 'me' })
  const cfg = sshdConfig(plan, plan.hosts[0])
  for (const line of ['ListenAddress 10.213.7.2', 'Port 22', 'PasswordAuthentication no', 'AllowUsers orgl7-h1', 'PermitRootLogin no',
    'HostKey /d/h1/ssh_host_ed25519_key', 'PidFile /d/h1/sshd.pid', 'AuthorizedKeysFile /d/h1/authorized_keys']) {
    assert.ok(cfg.split('\n').includes(line), `missing ${line}`)
  }
})

test('known_hosts lines and fingerprints match OpenSSH', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orgl-plan-test-'))
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')])
    const pub = readFileSync(join(dir, 'k.pub'), 'utf8')
    assert.equal(fingerprint(pub), execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1])
    assert.match(knownHostsLine('10.0.0.2', 22, pub), /^10\.0\.0\.2 ssh-ed25519 AAAA\S+$/)
    assert.match(knownHostsLine('127.0.0.2', 2222, pub), /^\[127\.0\.0\.2\]:2222 ssh-ed25519 AAAA\S+$/)
  } finally { rmSync(dir, { recursive: true, force: true }) }
})
