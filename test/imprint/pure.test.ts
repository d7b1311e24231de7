// Pure parts of imprint: pool URLs and pins, the preflight verdict, the journal and its rollback plan.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import type { PreflightWants } from '../../src/imprint/index.ts'
import { formatHostUrl, mergePools, parseHostUrl, parsePin, parsePool, parseProbe, preflightProblems, parseJournal, rollbackPlan } from '../../src/imprint/index.ts'

const blob = Buffer.from('an example key blob')
const b64 = blob.toString('base64')
const fp = 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')

test('host URLs parse with a default port and round-trip', () => {
  assert.deepEqual(parseHostUrl('ssh://deploy@10.0.0.5:2222'), { user: 'deploy', host: '10.0.0.5', port: 2222 })
  assert.deepEqual(parseHostUrl('ssh://deploy@example.org'), { user: 'deploy', host: 'example.org', port: 22 })
  assert.equal(formatHostUrl(parseHostUrl('ssh://u@[fd00::1]:22')), 'ssh://u@[fd00::1]')
  for (const bad of ['deploy@host', 'ssh://host', 'ssh://u@h:0', 'ssh://u@h:99999']) assert.throws(() => parseHostUrl(bad), { code: 'IMPRINT_HOST_URL' })
})

test('a pin is a SHA256 fingerprint or a known_hosts line, reduced to the fingerprint', () => {
  assert.equal(parsePin(`[10.0.0.5]:2222 ssh-ed25519 ${b64}`), fp)
  assert.equal(parsePin(`ssh-ed25519 ${b64} comment`), fp)
  assert.equal(parsePin(fp), fp)
  assert.throws(() => parsePin('SHA256:short'), { code: 'IMPRINT_HOST_PIN' })
})

test('pool files: a YAML list with pins and labels; entries without a pin are refused; the private file wins', () => {
  const pool = parsePool(`- url: ssh://a@h1\n  hostKey: ${fp}\n  labels: { zone: west }\n- url: ssh://b@h2:2200\n  hostKey: "ssh-ed25519 ${b64}"\n`)
  assert.equal(pool.length, 2)
  assert.deepEqual(pool[0].labels, { zone: 'west' })
  assert.equal(pool[1].port, 2200)
  assert.deepEqual(parsePool(`hosts:\n  - url: ssh://a@h1\n    hostKey: ${fp}\n`).map((h) => h.url), ['ssh://a@h1'])
  assert.throws(() => parsePool('- url: ssh://a@h1\n'), { code: 'IMPRINT_POOL_INVALID' })
  const merged = mergePools(pool, [{ ...pool[0], labels: { zone: 'east' } }])
  assert.equal(merged.length, 2)
  assert.deepEqual(merged.find((h) => h.url === 'ssh://a@h1')?.labels, { zone: 'east' })
})

const probeText = (over: Record<string, string> = {}): string => Object.entries({
  home: '/home/u', uname: 'Linux x86_64', df: '/dev/sda1 1000000 10 900000 1% /', git: 'git version 2.39.5', sshkeygen: '/usr/bin/ssh-keygen',
  writable: 'yes', tcp: '0016 1F90', udp: '0035', systemd: 'no', crontab: '', node: '', holder: '', imprinted: 'no', ...over
}).map(([k, v]) => `${k}=${v}`).join('\n')

test('preflight: a good host passes; each fault is its own typed error', () => {
  const want = { tcpPorts: [8081], udpPorts: [5353], requiredKb: 200_000 }
  assert.deepEqual(preflightProblems(parseProbe(probeText()), want), [])
  const codes = (over: Record<string, string>, w: PreflightWants = want): string[] => preflightProblems(parseProbe(probeText(over)), w).map((e) => e.code)
  assert.deepEqual(codes({ uname: 'FreeBSD amd64' }), ['IMPRINT_PREFLIGHT_OS'])
  assert.deepEqual(codes({ uname: 'Linux mips' }), ['IMPRINT_PREFLIGHT_OS'])
  assert.deepEqual(codes({ df: '/dev/x 1000 990 10 99% /' }), ['IMPRINT_PREFLIGHT_DISK'])
  assert.deepEqual(codes({ git: '' }), ['IMPRINT_PREFLIGHT_TOOL'])
  assert.deepEqual(codes({ writable: 'no' }), ['IMPRINT_PREFLIGHT_HOME'])
  // 0x1F90 = 8080 listens on TCP; 0x35 = 53 is bound on UDP.
  assert.deepEqual(codes({}, { ...want, tcpPorts: [8080], udpPorts: [53] }), ['IMPRINT_PREFLIGHT_PORT', 'IMPRINT_PREFLIGHT_PORT'])
  // Sockets bound to one address: 127.0.0.1:8080 (0100007F:1F90) does not stop a cell on 127.0.0.2, but does one on every address.
  const bound = { tcp: '0100007F:1F90 00000000000000000000000001000000:0050', udp: '0100007F:14B4' }
  assert.deepEqual(codes(bound, { ...want, tcpPorts: [8080], udpPorts: [5300], listen: '127.0.0.2' }), [])
  assert.deepEqual(codes(bound, { ...want, tcpPorts: [8080], udpPorts: [5300], listen: '127.0.0.1' }), ['IMPRINT_PREFLIGHT_PORT', 'IMPRINT_PREFLIGHT_PORT'])
  assert.deepEqual(codes(bound, { ...want, tcpPorts: [8080, 80], udpPorts: [5300], listen: '0.0.0.0' }), ['IMPRINT_PREFLIGHT_PORT', 'IMPRINT_PREFLIGHT_PORT'])
})

test('rollback plan: processes and services first, then paths newest first; a torn last line is ignored', () => {
  const entries = parseJournal('path /h/.organism\npath /h/.organism/runtime\nproc abc-1\ncron abc-1 no\npath /h/.organism/start.sh\npat')
  assert.equal(entries.length, 5)
  const plan = rollbackPlan(entries)
  assert.match(plan[0], /crontab -r/)
  assert.match(plan[1], /ORGANISM_IMPRINT=abc-1/)
  assert.deepEqual(plan.slice(2), ["rm -rf '/h/.organism/start.sh'", "rm -rf '/h/.organism/runtime'", "rm -rf '/h/.organism'"])
})

test('etcd goes to a host without one, never when this machine has none, and to any host when asked', async () => {
  const { etcdToCarry } = await import('../../src/imprint/artifacts.ts')
  assert.equal(etcdToCarry('/usr/bin/etcd', null), '/usr/bin/etcd')
  assert.equal(etcdToCarry('/usr/bin/etcd', '/usr/local/bin/etcd'), null, 'the host has its own')
  assert.equal(etcdToCarry(null, null), null, 'nothing to carry')
  assert.equal(etcdToCarry('/usr/bin/etcd', '/usr/bin/etcd', 'always'), '/usr/bin/etcd')
})
