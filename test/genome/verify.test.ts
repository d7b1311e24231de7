// Genome authenticity with real git and ssh-keygen: signatures, unknown keys, forgeries, allowed_signers changes, checkout.
import { before, after, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, readdir, rm, stat, writeFile, mkdir, chmod, utimes } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkGenome, checkoutGenome, signedCommit, verifyGenomeCommit, MIRROR_DIR } from '../../src/genome/index.ts'
import { git, gitRaw, makeKey, makeRepo, put, rejectsWith, signersLine, tempDir, unsignedCommit, type Key } from './helpers.ts'

let keysDir = ''
let alice: Key
let bob: Key
let mallory: Key

before(async () => {
  keysDir = await mkdtemp(join(tmpdir(), 'genome-keys-'))
  alice = await makeKey(keysDir, 'alice')
  bob = await makeKey(keysDir, 'bob')
  mallory = await makeKey(keysDir, 'mallory')
})
after(() => rm(keysDir, { recursive: true, force: true }))

test('a commit signed by an allowed key verifies and names its key and principal', async (t) => {
  const repo = await makeRepo(await tempDir(t, 'genome-v-'), signersLine('alice@example.org', alice))
  const commit = await signedCommit(repo, 'first', alice.path)
  const v = await verifyGenomeCommit(repo, 'main')
  assert.deepEqual(v, { commit, signerKey: alice.fingerprint, principal: 'alice@example.org', signers: [alice.fingerprint] })
  assert.equal((await verifyGenomeCommit(repo, commit.slice(0, 10))).commit, commit)
})

test('an unsigned commit is refused with GENOME_UNSIGNED naming the commit', async (t) => {
  const repo = await makeRepo(await tempDir(t, 'genome-v-'), signersLine('alice@example.org', alice))
  await signedCommit(repo, 'first', alice.path)
  await put(repo, 'README.md', 'x\n')
  const commit = unsignedCommit(repo, 'not signed')
  await assert.rejects(verifyGenomeCommit(repo, 'HEAD'), rejectsWith('GENOME_UNSIGNED', commit.slice(0, 12)))
})

test('a commit signed by a key not in allowed_signers is refused, naming the key', async (t) => {
  const repo = await makeRepo(await tempDir(t, 'genome-v-'), signersLine('alice@example.org', alice))
  await signedCommit(repo, 'first', alice.path)
  await put(repo, 'README.md', 'x\n')
  const commit = await signedCommit(repo, 'by mallory', mallory.path)
  await assert.rejects(verifyGenomeCommit(repo, 'HEAD'), rejectsWith('GENOME_SIGNER_UNKNOWN', commit.slice(0, 12), mallory.fingerprint))
})

test('a forged commit (signature copied onto an altered commit) is refused as GENOME_SIGNATURE_BAD', async (t) => {
  const repo = await makeRepo(await tempDir(t, 'genome-v-'), signersLine('alice@example.org', alice))
  const good = await signedCommit(repo, 'deploy the catalog', alice.path)
  const raw = git(repo, ['cat-file', 'commit', good]) + '\n'
  assert.match(raw, /^gpgsig -----BEGIN SSH SIGNATURE-----/m)
  const altered = raw.replace('deploy the catalog', 'deploy the catalog and a backdoor')
  const forgedFile = join(repo, '..', 'forged')
  await writeFile(forgedFile, altered)
  const forged = git(repo, ['hash-object', '-t', 'commit', '-w', forgedFile])
  git(repo, ['update-ref', 'refs/heads/main', forged])
  await assert.rejects(verifyGenomeCommit(repo, 'main'), rejectsWith('GENOME_SIGNATURE_BAD', forged.slice(0, 12), alice.fingerprint))
})

test('the key decides, not the committer email', async (t) => {
  const repo = await makeRepo(await tempDir(t, 'genome-v-'), signersLine('alice@example.org', alice))
  await signedCommit(repo, 'first', alice.path)
  // Alice's key claiming to be someone else: accepted, and reported as alice.
  await put(repo, 'a.txt', '1\n')
  const claimOther = { GIT_COMMITTER_EMAIL: 'bob@example.org', GIT_AUTHOR_EMAIL: 'bob@example.org', GIT_COMMITTER_NAME: 'Bob', GIT_AUTHOR_NAME: 'Bob' }
  const c1 = await signedCommit(repo, 'alice as bob', alice.path, { env: claimOther })
  assert.equal(git(repo, ['log', '-1', '--format=%ce', c1]), 'bob@example.org')
  assert.deepEqual(await verifyGenomeCommit(repo, 'HEAD'), { commit: c1, signerKey: alice.fingerprint, principal: 'alice@example.org', signers: [alice.fingerprint] })
  // Mallory's key claiming alice's email: refused.
  await put(repo, 'a.txt', '2\n')
  const claimAlice = { GIT_COMMITTER_EMAIL: 'alice@example.org', GIT_AUTHOR_EMAIL: 'alice@example.org', GIT_COMMITTER_NAME: 'alice', GIT_AUTHOR_NAME: 'alice' }
  const c2 = await signedCommit(repo, 'mallory as alice', mallory.path, { env: claimAlice })
  assert.equal(git(repo, ['log', '-1', '--format=%ce', c2]), 'alice@example.org')
  await assert.rejects(verifyGenomeCommit(repo, 'HEAD'), rejectsWith('GENOME_SIGNER_UNKNOWN', c2.slice(0, 12), mallory.fingerprint))
})

test('a key that adds itself to allowed_signers is refused, even for later commits', async (t) => {
  const repo = await makeRepo(await tempDir(t, 'genome-v-'), signersLine('alice@example.org', alice))
  await signedCommit(repo, 'first', alice.path)
  await put(repo, 'allowed_signers', signersLine('alice@example.org', alice) + signersLine('mallory@example.org', mallory))
  const change = await signedCommit(repo, 'add mallory', mallory.path)
  await assert.rejects(verifyGenomeCommit(repo, 'HEAD'), rejectsWith('GENOME_SIGNERS_CHANGE_UNAUTHORIZED', change.slice(0, 12), mallory.fingerprint))
  // Even a later commit by alice does not launder the change.
  await put(repo, 'b.txt', 'x\n')
  await signedCommit(repo, 'later', alice.path)
  await assert.rejects(verifyGenomeCommit(repo, 'HEAD'), rejectsWith('GENOME_SIGNERS_CHANGE_UNAUTHORIZED', change.slice(0, 12)))
  // An unsigned change to allowed_signers is refused the same way.
  const repo2 = await makeRepo(await tempDir(t, 'genome-v-'), signersLine('alice@example.org', alice))
  await signedCommit(repo2, 'first', alice.path)
  await put(repo2, 'allowed_signers', signersLine('mallory@example.org', mallory))
  const unsigned = unsignedCommit(repo2, 'swap keys')
  await put(repo2, 'c.txt', 'x\n')
  await signedCommit(repo2, 'by mallory', mallory.path)
  await assert.rejects(verifyGenomeCommit(repo2, 'HEAD'), rejectsWith('GENOME_SIGNERS_CHANGE_UNAUTHORIZED', unsigned.slice(0, 12)))
})

test('an authorized key rotation passes: alice hands over to bob', async (t) => {
  const repo = await makeRepo(await tempDir(t, 'genome-v-'), signersLine('alice@example.org', alice))
  await signedCommit(repo, 'first', alice.path)
  await put(repo, 'allowed_signers', signersLine('bob@example.org', bob))
  const rotation = await signedCommit(repo, 'rotate to bob', alice.path)
  // The rotation commit itself must be signed by a key in its own file too: alice is gone there.
  await assert.rejects(verifyGenomeCommit(repo, rotation), rejectsWith('GENOME_SIGNER_UNKNOWN', alice.fingerprint))
  await put(repo, 'b.txt', 'x\n')
  const next = await signedCommit(repo, 'bob works', bob.path)
  assert.deepEqual(await verifyGenomeCommit(repo, 'HEAD'), { commit: next, signerKey: bob.fingerprint, principal: 'bob@example.org', signers: [bob.fingerprint] })
  await put(repo, 'b.txt', 'y\n')
  await signedCommit(repo, 'alice again', alice.path)
  await assert.rejects(verifyGenomeCommit(repo, 'HEAD'), rejectsWith('GENOME_SIGNER_UNKNOWN', alice.fingerprint))
})

test('missing allowed_signers, not a repository, unknown ref', async (t) => {
  const dir = await tempDir(t, 'genome-v-')
  const repo = await makeRepo(dir, '')
  await rm(join(repo, 'allowed_signers'))
  await signedCommit(repo, 'no signers', alice.path)
  await assert.rejects(verifyGenomeCommit(repo, 'HEAD'), rejectsWith('GENOME_NO_SIGNERS'))
  await mkdir(join(dir, 'plain'))
  await assert.rejects(verifyGenomeCommit(join(dir, 'plain'), 'HEAD'), rejectsWith('GENOME_NOT_A_REPO', join(dir, 'plain')))
  await assert.rejects(verifyGenomeCommit(repo, 'no-such-branch'), rejectsWith('GENOME_REF_UNKNOWN', 'no-such-branch'))
  await assert.rejects(verifyGenomeCommit(repo, '--help'), rejectsWith('GENOME_REF_UNKNOWN'))
})

test('checkoutGenome exports exactly the verified commit, once, and never an unverified one', async (t) => {
  const dir = await tempDir(t, 'genome-c-')
  const repo = await makeRepo(dir, signersLine('alice@example.org', alice))
  await put(repo, 'functions/web/run.sh', '#!/bin/sh\necho hi\n')
  await chmod(join(repo, 'functions/web/run.sh'), 0o755)
  await put(repo, '.gitattributes', 'README.md export-ignore\n')
  await put(repo, 'README.md', 'genome\n')
  const first = await signedCommit(repo, 'first', alice.path)
  await put(repo, 'organism.yaml', (await readFile(join(repo, 'organism.yaml'), 'utf8')) + '    port: 9001\n')
  const second = await signedCommit(repo, 'second', alice.path)
  await put(repo, 'organism.yaml', 'changed but not committed: {')

  const dest = join(dir, 'genomes')
  const out = await checkoutGenome(repo, first, dest)
  assert.equal(out.commit, first)
  assert.equal(out.dir, join(dest, first))
  assert.equal(out.genome.commit, first)
  assert.equal(out.genome.functions[0].port, null, 'organism.yaml as of the first commit, not the second or the working tree')
  assert.equal(out.genome.functions[0].codeDir, join(dest, first, 'functions/web'))
  const tracked = git(repo, ['ls-tree', '-r', '--name-only', first]).split('\n')
  // Byte for byte what the commit holds, including README.md that .gitattributes marks export-ignore.
  assert.ok(tracked.includes('README.md'))
  for (const rel of tracked) assert.equal(await readFile(join(out.dir, rel), 'utf8'), gitRaw(repo, ['cat-file', 'blob', `${first}:${rel}`]), rel)
  assert.ok(((await stat(join(out.dir, 'functions/web/run.sh'))).mode & 0o111) !== 0, 'executable bit kept')

  // A second checkout of the same commit reuses the export while it holds the commit's tree (a file that `setup`
  // wrote beside it stays)...
  await writeFile(join(out.dir, 'left-by-test'), 'x')
  assert.equal((await checkoutGenome(repo, first, dest)).repaired, undefined)
  assert.equal(await readFile(join(out.dir, 'left-by-test'), 'utf8'), 'x')
  // ...and writes it again once a file the commit holds was changed, lost or made executable.
  for (const [rel, spoil] of [['functions/web/server.js', async () => { await writeFile(join(out.dir, 'functions/web/server.js'), 'evil()\n') }],
    ['organism.yaml', async () => { await rm(join(out.dir, 'organism.yaml')) }],
    ['README.md', async () => { await chmod(join(out.dir, 'README.md'), 0o755) }]] as const) {
    await spoil()
    assert.equal((await checkoutGenome(repo, first, dest)).repaired, rel)
    assert.equal(await readFile(join(out.dir, rel), 'utf8'), gitRaw(repo, ['cat-file', 'blob', `${first}:${rel}`]))
    await assert.rejects(stat(join(out.dir, 'left-by-test')), 'written again whole')
  }

  assert.equal((await checkoutGenome(repo, 'main', dest)).genome.functions[0].port, 9001)
  assert.deepEqual((await readdir(dest)).sort(), [MIRROR_DIR, first, second].sort(), 'no temp dirs left behind')

  // What a process killed mid-verification or mid-export left here is swept once it is old; a fresh one is not
  // (another process may be at work on it).
  const old = new Date(Date.now() - 11 * 60_000)
  await mkdir(join(dest, '.verify-killed')); await utimes(join(dest, '.verify-killed'), old, old)
  await mkdir(join(dest, `.${first}.tmp-dead`)); await utimes(join(dest, `.${first}.tmp-dead`), old, old)
  await mkdir(join(dest, '.verify-busy'))
  await checkoutGenome(repo, 'main', dest)
  assert.deepEqual((await readdir(dest)).sort(), ['.verify-busy', MIRROR_DIR, first, second].sort())
  await rm(join(dest, '.verify-busy'), { recursive: true })

  // An unsigned tip is refused and nothing is written for it.
  const unsigned = unsignedCommit(repo, 'unsigned')
  await assert.rejects(checkoutGenome(repo, 'main', dest), rejectsWith('GENOME_UNSIGNED', unsigned.slice(0, 12)))
  assert.deepEqual((await readdir(dest)).sort(), [MIRROR_DIR, first, second].sort())
})

test('checkGenome verifies HEAD, validates it against its own tree, and reports a broken uncommitted organism.yaml', async (t) => {
  const repo = await makeRepo(await tempDir(t, 'genome-k-'), signersLine('alice@example.org', alice))
  const commit = await signedCommit(repo, 'first', alice.path)
  const ok = await checkGenome(repo)
  assert.equal(ok.commit, commit)
  assert.equal(ok.signerKey, alice.fingerprint)
  assert.equal(ok.uncommitted, false)
  assert.equal(ok.genome.organism, 'campus')

  await put(repo, 'organism.yaml', 'organism: campus\nzone: campus.test\nfunctions:\n  web:\n    code: functions/web\n    start: node server.js\n    prot: 1\n')
  await assert.rejects(checkGenome(repo), rejectsWith('GENOME_INVALID', 'uncommitted', 'organism.yaml:7:5: functions.web.prot: unknown field (did you mean "port"?)'))
  await put(repo, 'organism.yaml', 'organism: campus\nzone: campus.test\nfunctions:\n  web:\n    code: functions/web\n    start: node server.js\n    port: 9001\n')
  assert.equal((await checkGenome(repo)).uncommitted, true)

  // HEAD names a code directory that exists only as an untracked directory: a cell would not have it.
  await put(repo, 'organism.yaml', 'organism: campus\nzone: campus.test\nfunctions:\n  web:\n    code: functions/api\n    start: node server.js\n')
  await signedCommit(repo, 'point at api', alice.path)
  await put(repo, 'functions/api/server.js', 'x\n')
  await assert.rejects(checkGenome(repo), rejectsWith('GENOME_INVALID', 'functions.web.code', 'no directory at functions/api'))
})
