// Updates from cell to cell, in parts: which changes switch in place, and a commit's objects carried as a git bundle
// over a real socket into a store that verifies them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { join } from 'node:path'
import { parseGenome, checkoutGenome, signedCommit, importCommit, MIRROR_DIR } from '../../src/genome/index.ts'
import { inPlaceProblem, serveBundle, fetchBundle } from '../../src/update/index.ts'
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
