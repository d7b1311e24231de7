// Updates from cell to cell, in parts: which changes switch in place, and a commit's objects carried as a git bundle
// over a real socket into a store that verifies them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { join } from 'node:path'
import { parseGenome, checkoutGenome, signedCommit, importCommit, MIRROR_DIR } from '../../src/genome/index.ts'
import { inPlaceProblem, serveBundle, fetchBundle, planWaves, gateVerdict } from '../../src/update/index.ts'
import { revertedPin } from '../../src/genome/index.ts'
import { isOrganismError } from '../../src/core/errors.ts'
import { makeRepo, put, signersLine, tempDir, testKeys } from '../genome/helpers.ts'

const k = testKeys('alice')
const genome = (fields: string[], top: string[] = []) => parseGenome(['organism: campus', 'zone: campus.test', ...top, 'functions:', '  web:', '    start: node a.js', ...fields.map((f) => `    ${f}`), '  api:', '    start: node api.js', ''].join('\n'), { file: 'organism.yaml', root: '/g' })

test('code, start, setup, health, env and port switch in place; functions, domains, data and limits need a restart', () => {
  const base = genome([])
  assert.equal(inPlaceProblem(base, genome(['setup: npm ci', 'health: /ready', 'env: { A: b }', 'port: 9001', 'code: functions/web2'])), null)
  assert.equal(inPlaceProblem(base, genome(['domain: www.campus.test'])), 'it changes domain of function web')
  assert.equal(inPlaceProblem(base, genome(['stateful: true'])), 'it changes stateful of function web')
  assert.equal(inPlaceProblem(base, genome([], ['router: { port: 81 }'])), 'it changes the genome\'s routerPort')
  const fewer = parseGenome('organism: campus\nzone: campus.test\nfunctions:\n  web:\n    start: node a.js\n', { file: 'organism.yaml', root: '/g' })
  assert.equal(inPlaceProblem(base, fewer), 'it removes function api')
  assert.equal(inPlaceProblem(fewer, base), 'it adds function api')
})

test('a commit travels as a bundle over a socket and is verified by the receiving store; a missing one is refused', async (t) => {
  const dir = await tempDir(t, 'update-')
  const repo = await makeRepo(dir, signersLine('alice@example.org', k.alice))
  const c1 = await signedCommit(repo, 'first', k.alice.path)
  await put(repo, 'functions/web/server.js', 'console.log("v2")\n')
  const c2 = await signedCommit(repo, 'second', k.alice.path)
  // The sender's store holds both (as a cell that ran them does).
  const senderStore = join(dir, 'sender', MIRROR_DIR)
  await importCommit(repo, c2, senderStore)
  const server = net.createServer((s) => { void serveBundle(s, senderStore, dir) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => { server.close() })
  const port = (server.address() as net.AddressInfo).port
  const open = async () => net.connect({ port, host: '127.0.0.1' })
  const out = await fetchBundle(open, c2, dir, async (r) => await checkoutGenome(r, c2, join(dir, 'receiver')))
  assert.equal(out.commit, c2)
  assert.equal(out.genome.functions[0].name, 'web')
  const missing = 'f'.repeat(40)
  await assert.rejects(fetchBundle(open, missing, dir, async () => null), (e: unknown) => isOrganismError(e, 'UPDATE_BUNDLE_FAILED') && /does not have it|sent nothing/.test(e.message))
  await assert.rejects(fetchBundle(open, 'HEAD; rm -rf /', dir, async () => null), (e: unknown) => isOrganismError(e, 'UPDATE_BAD_OFFER'))
  assert.notEqual(c1, c2)
})

test('waves keep two cells that serve an instance of the same function apart, and cover every cell once', () => {
  const serves: Record<string, string[]> = { b: ['web'], c: ['web'], d: [], e: ['web', 'api'], f: ['api'] }
  const waves = planWaves(['b', 'c', 'd', 'e', 'f'], 2, (cell) => serves[cell] ?? [])
  assert.deepEqual(waves.flat().sort(), ['b', 'c', 'd', 'e', 'f'])
  for (const w of waves) {
    const fns = w.flatMap((cell) => serves[cell])
    assert.equal(new Set(fns).size, fns.length, `wave ${w.join(',')} takes two instances of one function out at once`)
  }
  assert.ok(waves.length >= 3, 'three cells serve web: three waves at least')
  assert.deepEqual(planWaves(['b', 'c'], 5, () => []), [['b'], ['c']])
  assert.deepEqual(planWaves([], 2, () => []), [])
})

test('the gate fails an unhealthy function or more 5xx than the share allows, never a few errors alone', () => {
  const at = (requests: number, errors5xx: number) => ({ requests, errors5xx })
  assert.equal(gateVerdict(at(100, 0), at(300, 2), [], 0.01), null, 'two errors are too few to judge')
  assert.match(gateVerdict(at(100, 0), at(300, 3), [], 0.01) ?? '', /3 of 200 requests answered 5xx/)
  assert.equal(gateVerdict(at(0, 0), at(1000, 5), [], 0.01), null, '0.5 % is under 1 %')
  assert.match(gateVerdict(at(0, 0), at(0, 0), ['catalog'], 0.01) ?? '', /not healthy on it: catalog/)
})

test('a reverted commit goes back in the pin and is marked bad, once', () => {
  const c = (ch: string) => ch.repeat(40)
  const pin = revertedPin(revertedPin({ first: c('a'), signers: ['k'], last: c('b') }, c('a'), c('b')), c('a'), c('b'))
  assert.deepEqual(pin, { first: c('a'), signers: ['k'], last: c('a'), bad: [c('b')] })
})
