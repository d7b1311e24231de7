// cell init: a new genome that verifies and parses, a reused signing key, and a refused non-empty directory.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, stat, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { checkGenome, initGenome, readGenome, verifyGenomeCommit } from '../../src/genome/index.ts'
import { isOrganismError } from '../../src/core/errors.ts'
import { git, tempDir } from './helpers.ts'
import { execFileSync } from 'node:child_process'

test('init makes a signed genome that verifies and parses, with a 0600 key', async (t) => {
  const dir = await tempDir(t, 'genome-init-')
  const keyPath = join(dir, 'keys', 'signing_key')
  const genomeDir = join(dir, 'Campus_Suite')
  const r = await initGenome(genomeDir, { keyPath })
  assert.equal(r.created, true)
  assert.equal(r.keyPath, keyPath)
  assert.equal((await stat(keyPath)).mode & 0o777, 0o600)
  assert.equal(git(genomeDir, ['rev-parse', 'HEAD']), r.commit)
  assert.equal(git(genomeDir, ['status', '--porcelain']), '', 'everything committed')

  const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${keyPath}.pub`], { encoding: 'utf8' }).split(' ')[1]
  const v = await verifyGenomeCommit(genomeDir, 'HEAD')
  assert.equal(v.signerKey, fingerprint)
  assert.equal(v.principal, 'owner@campus-suite.test')

  const g = await readGenome(genomeDir)
  assert.equal(g.organism, 'campus-suite')
  assert.equal(g.zone, 'campus-suite.test')
  assert.deepEqual(g.functions.map(f => [f.name, f.domain, f.health]), [['hello', 'hello.campus-suite.test', '/health']])
  assert.match(await readFile(join(genomeDir, 'functions/hello/server.js'), 'utf8'), /\/health/)
  assert.ok((await readFile(join(genomeDir, 'README.md'), 'utf8')).length > 0)
  assert.equal((await checkGenome(genomeDir)).commit, r.commit)
  // The repo is set up to sign further commits by itself.
  assert.equal(git(genomeDir, ['config', '--local', 'commit.gpgsign']), 'true')
  assert.equal(git(genomeDir, ['config', '--local', 'gpg.format']), 'ssh')
  await writeFile(join(genomeDir, 'README.md'), 'changed\n')
  git(genomeDir, ['commit', '-q', '-am', 'plain git commit, signed by config'])
  assert.equal((await verifyGenomeCommit(genomeDir, 'HEAD')).signerKey, fingerprint)
})

test('the example function answers /health', async (t) => {
  const dir = await tempDir(t, 'genome-init-')
  const genomeDir = join(dir, 'g')
  await initGenome(genomeDir, { keyPath: join(dir, 'k'), organism: 'demo', zone: 'demo.example.org' })
  const g = await readGenome(genomeDir)
  assert.equal(g.zone, 'demo.example.org')
  const { spawn } = await import('node:child_process')
  const port = 20000 + Math.floor(Math.random() * 20000)
  const child = spawn(process.execPath, ['server.js'], { cwd: g.functions[0].codeDir, env: { ...process.env, PORT: String(port) }, stdio: 'ignore' })
  t.after(() => { child.kill() })
  let status = 0
  for (let i = 0; i < 50 && status !== 200; i++) {
    status = await fetch(`http://127.0.0.1:${port}/health`).then(res => res.status, () => 0)
    if (status !== 200) await new Promise(resolve => setTimeout(resolve, 100))
  }
  assert.equal(status, 200)
})

test('init reuses an existing key', async (t) => {
  const dir = await tempDir(t, 'genome-init-')
  const keyPath = join(dir, 'signing_key')
  const first = await initGenome(join(dir, 'one'), { keyPath })
  const before = await readFile(keyPath, 'utf8')
  const second = await initGenome(join(dir, 'two'), { keyPath })
  assert.equal(first.created, true)
  assert.equal(second.created, false)
  assert.equal(await readFile(keyPath, 'utf8'), before)
  assert.equal((await verifyGenomeCommit(join(dir, 'one'), 'HEAD')).signerKey, (await verifyGenomeCommit(join(dir, 'two'), 'HEAD')).signerKey)
})

test('init refuses a non-empty directory and leaves it alone', async (t) => {
  const dir = await tempDir(t, 'genome-init-')
  const target = join(dir, 'busy')
  await mkdir(target)
  await writeFile(join(target, 'notes.txt'), 'mine\n')
  await assert.rejects(initGenome(target, { keyPath: join(dir, 'k') }), (e: unknown) => isOrganismError(e, 'GENOME_INIT_NOT_EMPTY') && e.message.includes(target))
  await assert.rejects(stat(join(target, '.git')))
  await assert.rejects(stat(join(dir, 'k')), 'no key made for a refused init')
})

test('init refuses a bad organism name before writing anything', async (t) => {
  const dir = await tempDir(t, 'genome-init-')
  await assert.rejects(initGenome(join(dir, 'g'), { keyPath: join(dir, 'k'), organism: 'Bad Name' }), (e: unknown) => isOrganismError(e, 'GENOME_INVALID') && e.message.includes('organism'))
  await assert.rejects(stat(join(dir, 'g')))
})

test('a key file that is not a key is GENOME_KEY_INVALID', async (t) => {
  const dir = await tempDir(t, 'genome-init-')
  await writeFile(join(dir, 'k'), 'not a key\n', { mode: 0o600 })
  await assert.rejects(initGenome(join(dir, 'g'), { keyPath: join(dir, 'k') }), (e: unknown) => isOrganismError(e, 'GENOME_KEY_INVALID'))
})
