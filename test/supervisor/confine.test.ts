// Functions as their own users when the cell runs as root: a function process runs under its own uid, reads its code
// and the genome's shared code, writes its data dir, and cannot read the cell's key, another function's data or the
// state dir; what a move wrote into its data dir as root becomes its own. Real unshare, mount and setpriv.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { functionUids, hostIds, nodeDirOf } from '../../src/supervisor/index.ts'
import { fnSpec, startSupervisor, tempDir, waitFor } from './helpers.ts'

const asRoot = process.getuid?.() === 0

// What an attacker with code execution in a function would try, written down where the test can read it.
const probe = `
import { readFileSync, writeFileSync, readdirSync } from 'node:fs'
import { createServer } from 'node:http'
import { shared } from '../../lib/shared.mjs'
const tryRead = (p) => { try { readFileSync(p); return 'read' } catch (e) { return e.code } }
const tryList = (p) => { try { readdirSync(p); return 'listed' } catch (e) { return e.code } }
const report = {
  uid: process.getuid(), shared, home: process.env.HOME, dataDir: process.env.DATA_DIR,
  peerKey: tryRead(process.env.PROBE_STATE + '/peer.key'),
  stateDir: tryList(process.env.PROBE_STATE),
  otherData: tryList(process.env.PROBE_STATE + '/functions/data/other'),
  moved: tryRead(process.env.DATA_DIR + '/moved.txt'),
  env: Object.keys(process.env).filter((k) => k.startsWith('ORGANISM_JAIL'))
}
writeFileSync(process.env.DATA_DIR + '/report.json', JSON.stringify(report))
createServer((req, res) => { res.end('ok') }).listen(Number(process.env.PORT), '127.0.0.1')
`

test('a confined function runs as its own uid and reaches only its code, the genome and its data', { skip: asRoot ? false : 'needs root (the cell confines functions only when it runs as root)' }, async (t) => {
  const state = tempDir(t, 'organism-confine-')
  chmodSync(state, 0o700)
  writeFileSync(join(state, 'peer.key'), 'secret', { mode: 0o600 })
  const genome = join(state, 'genome', 'abc123')
  mkdirSync(join(genome, 'functions', 'probe'), { recursive: true })
  mkdirSync(join(genome, 'lib'), { recursive: true })
  writeFileSync(join(genome, 'lib', 'shared.mjs'), 'export const shared = "from the genome"\n', { mode: 0o600 })
  writeFileSync(join(genome, 'functions', 'probe', 'probe.mjs'), probe)
  const functions = join(state, 'functions')
  mkdirSync(join(functions, 'data', 'other'), { recursive: true })
  writeFileSync(join(functions, 'data', 'other', 'private.txt'), 'not yours')
  // A move unpacked this as root before the start.
  mkdirSync(join(functions, 'data', 'probe'), { recursive: true })
  writeFileSync(join(functions, 'data', 'probe', 'moved.txt'), 'arrived', { mode: 0o600 })

  const uids = functionUids(['probe', 'other'], await hostIds())
  const sup = await startSupervisor(t, {
    stateDir: functions,
    functions: [fnSpec('probe', { codeDir: join(genome, 'functions', 'probe'), start: 'node probe.mjs', env: { PROBE_STATE: state } })],
    env: { PATH: `${nodeDirOf(process.execPath)}:/usr/bin:/bin` },
    confine: { uids, genomeRoot: genome, nodeDir: nodeDirOf(process.execPath) }
  })
  await sup.startFunction('probe')
  const log = (): string => { try { return readFileSync(join(functions, 'logs', 'probe.log'), 'utf8') } catch { return '(no log)' } }
  await waitFor('probe running', () => sup.get('probe')?.state === 'running' || (sup.get('probe')?.restarts ?? 0) > 0 || sup.get('probe')?.state === 'failed')
  assert.equal(sup.get('probe')?.state, 'running', log())
  const report = JSON.parse(readFileSync(join(functions, 'data', 'probe', 'report.json'), 'utf8'))
  assert.equal(report.uid, uids.get('probe'))
  assert.notEqual(report.uid, 0)
  assert.equal(report.shared, 'from the genome', 'the genome next to its code is readable (made so by the cell)')
  assert.equal(report.peerKey, 'EACCES', 'the cell\'s key is out of reach')
  assert.equal(report.stateDir, 'EACCES')
  assert.equal(report.otherData, 'EACCES')
  assert.equal(report.moved, 'read', 'what a move wrote as root is the function\'s own')
  assert.equal(report.dataDir, report.home)
  assert.deepEqual(report.env, [], 'the jail\'s plumbing does not reach the function')
  const data = statSync(join(functions, 'data', 'probe'))
  assert.equal(data.uid, uids.get('probe'))
  assert.equal(data.mode & 0o777, 0o700)
  // The cell still owns its state: the key file is as it was.
  assert.equal(statSync(join(state, 'peer.key')).uid, 0)
})

test('function uids are stable, distinct, and clear of the host\'s users', () => {
  const taken = new Set([61_000, 61_001])
  const a = functionUids(['forum', 'grades', 'media'], taken)
  const b = functionUids(['media', 'forum', 'grades'], taken)
  assert.deepEqual([...a].sort(), [...b].sort())
  assert.equal(new Set(a.values()).size, 3)
  for (const uid of a.values()) assert.ok(!taken.has(uid) && uid >= 61_000 && uid < 65_000)
})
