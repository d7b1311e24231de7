// A cell's trust is anchored (real git and ssh-keygen): after its first verified commit it runs only commits that
// descend from the last one it ran. An orphan root or a rewritten history whose every signature verifies (a key that
// lists itself) is refused, naming both commits; so is going back to an older commit.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { checkoutGenome, readPin, signedCommit, verifyGenomeCommit } from '../../src/genome/index.ts'
import { parsePin, pinAfter } from '../../src/genome/pin.ts'
import { git, makeRepo, put, rejectsWith, signersLine, tempDir, testKeys } from './helpers.ts'

const k = testKeys('alice', 'mallory')

test('the first checkout pins its commit and signers; descendants move it on, anything else is refused naming both commits', async (t) => {
  const dir = await tempDir(t, 'genome-pin-')
  const repo = await makeRepo(dir, signersLine('alice@example.org', k.alice))
  const first = await signedCommit(repo, 'first', k.alice.path)
  const dest = join(dir, 'genomes')
  const pinFile = join(dir, 'genome-pin.json')
  await checkoutGenome(repo, 'main', dest, { pinFile })
  assert.deepEqual(await readPin(pinFile), { first, signers: [k.alice.fingerprint], last: first })

  await put(repo, 'README.md', 'second\n')
  const second = await signedCommit(repo, 'second', k.alice.path)
  await checkoutGenome(repo, 'main', dest, { pinFile })
  assert.deepEqual(await readPin(pinFile), { first, signers: [k.alice.fingerprint], last: second })
  await checkoutGenome(repo, second, dest, { pinFile })

  // Back to the older commit: refused, although it verifies.
  await verifyGenomeCommit(repo, first)
  await assert.rejects(checkoutGenome(repo, first, dest, { pinFile }), rejectsWith('GENOME_NOT_DESCENDANT', first.slice(0, 12), second.slice(0, 12), 'older', pinFile))

  // An orphan root whose allowed_signers lists k.mallory, signed by k.mallory: every signature in it verifies...
  git(repo, ['checkout', '-q', '--orphan', 'takeover'])
  await put(repo, 'allowed_signers', signersLine('mallory@example.org', k.mallory))
  const orphan = await signedCommit(repo, 'a genome of my own', k.mallory.path)
  assert.equal((await verifyGenomeCommit(repo, 'takeover')).signerKey, k.mallory.fingerprint)
  // ...and the branch the cell follows is pointed at it: refused, naming both commits, and nothing moves.
  git(repo, ['update-ref', 'refs/heads/main', orphan])
  await assert.rejects(checkoutGenome(repo, 'main', dest, { pinFile }), rejectsWith('GENOME_NOT_DESCENDANT', orphan.slice(0, 12), second.slice(0, 12), 'orphan root or a rewritten history'))
  assert.equal((await readPin(pinFile))?.last, second)

  // A rewritten history, even one signed by a trusted key (the last commit amended): refused too.
  git(repo, ['checkout', '-q', '-f', '-B', 'main', first])
  await put(repo, 'README.md', 'another second\n')
  const rewritten = await signedCommit(repo, 'second, rewritten', k.alice.path)
  await assert.rejects(checkoutGenome(repo, 'main', dest, { pinFile }), rejectsWith('GENOME_NOT_DESCENDANT', rewritten.slice(0, 12), second.slice(0, 12)))

  // Without the pin (its operator removed it on purpose), the cell trusts what it is started with, as on day one.
  await rm(pinFile)
  await checkoutGenome(repo, 'main', dest, { pinFile })
  assert.equal((await readPin(pinFile))?.first, rewritten)
})

test('a damaged pin is an error that names the file, not a fresh start', async (t) => {
  const dir = await tempDir(t, 'genome-pin-')
  const repo = await makeRepo(dir, signersLine('alice@example.org', k.alice))
  await signedCommit(repo, 'first', k.alice.path)
  const pinFile = join(dir, 'genome-pin.json')
  await writeFile(pinFile, '{"first": "abc"')
  await assert.rejects(checkoutGenome(repo, 'main', join(dir, 'genomes'), { pinFile }), rejectsWith('GENOME_PIN_INVALID', pinFile, 'not JSON'))
  assert.equal(await readFile(pinFile, 'utf8'), '{"first": "abc"', 'left as it was')
})

test('parsePin and pinAfter (pure)', () => {
  const c = (x: string): string => x.repeat(40)
  assert.equal(parsePin('[]'), '"first" is not a commit id')
  assert.equal(parsePin(JSON.stringify({ first: c('a'), last: 'HEAD', signers: [] })), '"last" is not a commit id')
  assert.equal(parsePin(JSON.stringify({ first: c('a'), last: c('b'), signers: [1] })), '"signers" is not a list of key fingerprints')
  assert.deepEqual(parsePin(JSON.stringify({ first: c('a'), last: c('b'), signers: ['SHA256:x'], extra: 1 })), { first: c('a'), last: c('b'), signers: ['SHA256:x'] })
  assert.deepEqual(pinAfter(null, c('a'), ['k']), { first: c('a'), signers: ['k'], last: c('a') })
  assert.deepEqual(pinAfter({ first: c('a'), signers: ['k'], last: c('a') }, c('b'), ['other']), { first: c('a'), signers: ['k'], last: c('b') })
})
