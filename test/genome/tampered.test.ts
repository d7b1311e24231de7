// A genome repo someone without the signing key has edited: replaced objects, grafts, a shallow clone, its own
// config with commands in it, trees that would write outside their folder. Real git and ssh-keygen throughout:
// what a cell runs and what `cell genome check` reports are the bytes the signature covers, and nothing in the repo
// runs a command.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { deflateSync } from 'node:zlib'
import { chmod, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { checkGenome, checkoutGenome, signedCommit, verifyGenomeCommit } from '../../src/genome/index.ts'
import { assertTreeInside } from '../../src/genome/export.ts'
import { git, gitBytes, makeRepo, put, rejectsWith, signersLine, tempDir, testKeys, type Key } from './helpers.ts'

const k = testKeys('alice', 'mallory')

const SERVER = 'console.log("hi")\n'
const signing = (key: Key): string[] => ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${key.path}`, '-c', 'user.name=A', '-c', 'user.email=a@example.org']

async function signedRepo (t: { after: (fn: () => Promise<void>) => void }): Promise<{ dir: string, repo: string, commit: string }> {
  const dir = await tempDir(t, 'genome-t-')
  const repo = await makeRepo(dir, signersLine('alice@example.org', k.alice))
  return { dir, repo, commit: await signedCommit(repo, 'first', k.alice.path) }
}

/** Writes a blob into the repo and returns its id. */
const blob = (repo: string, text: string): string => git(repo, ['hash-object', '-w', '--stdin'], {}, text)

test('a replace ref cannot swap the bytes of a signed commit: the checkout holds what was signed', async (t) => {
  const { dir, repo, commit } = await signedRepo(t)
  git(repo, ['replace', git(repo, ['rev-parse', `${commit}:functions/web/server.js`]), blob(repo, 'evil()\n')])
  assert.equal(git(repo, ['show', `${commit}:functions/web/server.js`]), 'evil()', 'git itself follows the replace ref')
  const out = await checkoutGenome(repo, 'main', join(dir, 'genomes'))
  assert.equal(await readFile(join(out.dir, 'functions/web/server.js'), 'utf8'), SERVER)
})

test('a graft or a replace --graft cannot cut off the history that refuses a self-added key', async (t) => {
  const { repo } = await signedRepo(t)
  // k.mallory lists himself and signs: refused, since k.alice's allowed_signers does not trust him...
  await put(repo, 'allowed_signers', signersLine('mallory@example.org', k.mallory))
  const hijack = await signedCommit(repo, 'mallory takes over', k.mallory.path)
  await assert.rejects(verifyGenomeCommit(repo, 'main'), rejectsWith('GENOME_SIGNERS_CHANGE_UNAUTHORIZED', hijack.slice(0, 12)))
  // ...and stays refused when the repo pretends his commit has no parent.
  git(repo, ['replace', '--graft', hijack])
  assert.equal(git(repo, ['rev-list', '--count', 'main']), '1', 'git itself now sees a root commit')
  await assert.rejects(verifyGenomeCommit(repo, 'main'), rejectsWith('GENOME_SIGNERS_CHANGE_UNAUTHORIZED', hijack.slice(0, 12)))
  git(repo, ['replace', '-d', hijack])
  // A graft file hides the parent from what the repo sends: the copy misses it and is refused whole.
  await writeFile(join(repo, '.git/info/grafts'), `${hijack}\n`)
  await assert.rejects(verifyGenomeCommit(repo, 'main'), rejectsWith('GENOME_OBJECTS_BAD', hijack.slice(0, 12)))
})

test('an object file holding other bytes than its name says is refused, and nothing is exported', async (t) => {
  const { dir, repo, commit } = await signedRepo(t)
  const id = git(repo, ['rev-parse', `${commit}:functions/web/server.js`])
  const file = join(repo, '.git/objects', id.slice(0, 2), id.slice(2))
  const evil = Buffer.from('evil()\n')
  await chmod(file, 0o644)
  await writeFile(file, deflateSync(Buffer.concat([Buffer.from(`blob ${evil.length}\0`), evil])))
  assert.equal(git(repo, ['cat-file', 'blob', id]), 'evil()', 'git itself reads the swapped bytes')
  const dest = join(dir, 'genomes')
  await assert.rejects(checkoutGenome(repo, 'main', dest), rejectsWith('GENOME_OBJECTS_BAD', commit.slice(0, 12)))
  assert.equal((await readdir(dest)).filter((n) => n === commit).length, 0)
})

test('a signed tree that would write through a symlink or to ".." is refused before a byte is written', async (t) => {
  const { dir, repo, commit } = await signedRepo(t)
  const outside = join(dir, 'outside')
  await mkdir(outside)
  const base = git(repo, ['rev-parse', `${commit}^{tree}`])
  const entries = gitBytes(repo, ['cat-file', 'tree', base])
  const raw = (mode: string, name: string, id: string): Buffer => Buffer.concat([Buffer.from(`${mode} ${name}\0`, 'latin1'), Buffer.from(id, 'hex')])
  const sub = git(repo, ['mktree'], {}, `100644 blob ${blob(repo, 'pwned\n')}\tplanted\n`)
  const trees = {
    // "a" twice: a symlink out of the folder, and a directory whose file would land there.
    'through a symlink': Buffer.concat([entries, raw('120000', 'a', blob(repo, outside)), raw('40000', 'a', sub)]),
    'to ..': Buffer.concat([raw('40000', '..', sub), entries])
  }
  for (const [what, bytes] of Object.entries(trees)) {
    const tree = git(repo, ['hash-object', '-t', 'tree', '-w', '--literally', '--stdin'], {}, bytes)
    const bad = git(repo, [...signing(k.alice), 'commit-tree', '-S', tree, '-p', commit, '-m', `tree ${what}`])
    git(repo, ['update-ref', 'refs/heads/main', bad])
    await assert.rejects(checkoutGenome(repo, 'main', join(dir, 'genomes')), rejectsWith('GENOME_OBJECTS_BAD', bad.slice(0, 12)), what)
    assert.deepEqual(await readdir(outside), [], `${what}: nothing written outside`)
    assert.equal(await stat(join(dir, 'planted')).catch(() => null), null)
  }
  // The export checks the same itself, for a store filled some other way than through git's fsck.
  const e = (mode: string, path: string): { mode: string, oid: string, path: string } => ({ mode, oid: '0', path })
  assert.throws(() => { assertTreeInside('c0ffee', [e('120000', 'a'), e('100644', 'a/planted')]) }, rejectsWith('GENOME_TREE_UNSAFE', 'a/planted', 'symlink a'))
  assert.throws(() => { assertTreeInside('c0ffee', [e('100644', 'x'), e('100755', 'x')]) }, rejectsWith('GENOME_TREE_UNSAFE', 'twice'))
  for (const p of ['../x', 'a/../../x', '.git/config', 'a/.GIT/hooks/x', 'a//b']) assert.throws(() => { assertTreeInside('c0ffee', [e('100644', p)]) }, rejectsWith('GENOME_TREE_UNSAFE', p))
  assertTreeInside('c0ffee', [e('120000', 'link'), e('100644', 'linked/file'), e('100644', '.gitignore')])
})

test('a shallow clone is refused: the history that authorizes its signers is not there', async (t) => {
  const { dir, repo } = await signedRepo(t)
  await put(repo, 'README.md', 'more\n')
  await signedCommit(repo, 'second', k.alice.path)
  const shallow = join(dir, 'shallow')
  git(dir, ['clone', '-q', '--depth', '1', `file://${repo}`, shallow])
  await assert.rejects(checkoutGenome(shallow, 'HEAD', join(dir, 'genomes')), rejectsWith('GENOME_SHALLOW', shallow))
})

test('the repo\'s own config runs nothing: fsmonitor, filters, hooks and a lying gpg.ssh.program stay unused', async (t) => {
  const { dir, repo } = await signedRepo(t)
  const ran = join(dir, 'ran')
  const script = join(dir, 'evil.sh')
  // k.mallory signs a commit: only a verifier that lies would let it through.
  await put(repo, 'README.md', 'mallory was here\n')
  git(repo, ['add', 'README.md'])
  git(repo, [...signing(k.mallory), 'commit', '-q', '-S', '-m', 'mallory'])
  const forged = git(repo, ['rev-parse', 'HEAD'])
  // Such a verifier, and every other place a repo's config or attributes can name a command.
  await writeFile(script, `#!/bin/sh\necho "$0 $*" >> ${ran}\necho 'Good "git" signature for mallory@example.org with ED25519 key ${k.mallory.fingerprint}'\ncat\nexit 0\n`, { mode: 0o755 })
  for (const [k, v] of [['core.fsmonitor', script], ['gpg.ssh.program', script], ['gpg.program', script], ['filter.evil.clean', script], ['filter.evil.smudge', script],
    ['filter.evil.process', script], ['core.hooksPath', dir], ['diff.external', script], ['core.pager', script], ['uploadpack.packObjectsHook', script]]) git(repo, ['config', k, v])
  await writeFile(join(repo, '.git/info/attributes'), '* filter=evil diff=evil\n')
  for (const hook of ['post-checkout', 'pre-commit', 'reference-transaction', 'pre-upload-pack']) await writeFile(join(dir, hook), `#!/bin/sh\necho ${hook} >> ${ran}\n`, { mode: 0o755 })
  await put(repo, 'organism.yaml', (await readFile(join(repo, 'organism.yaml'), 'utf8')) + '# uncommitted\n')

  await assert.rejects(checkoutGenome(repo, 'main', join(dir, 'genomes')), rejectsWith('GENOME_SIGNER_UNKNOWN', forged.slice(0, 12), k.mallory.fingerprint))
  await assert.rejects(checkGenome(repo), rejectsWith('GENOME_SIGNER_UNKNOWN', forged.slice(0, 12), k.mallory.fingerprint))
  git(repo, ['-c', 'core.hooksPath=/dev/null', 'update-ref', 'refs/heads/main', 'HEAD~1'])
  const ok = await checkGenome(repo)
  assert.equal(ok.uncommitted, true)
  const out = await checkoutGenome(repo, 'main', join(dir, 'genomes'))
  assert.equal(await readFile(join(out.dir, 'functions/web/server.js'), 'utf8'), SERVER)
  assert.equal(await readFile(ran, 'utf8').catch(() => null), null, 'no command from the repo ran')
})
