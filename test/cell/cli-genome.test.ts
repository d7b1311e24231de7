// `cell init` and `cell genome check` as a user runs them: a new genome checks clean; a typo or an unsigned change is reported.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../helpers/cell-process.ts'

const dir = await mkdtemp(join(tmpdir(), 'organism-cli-'))
after(() => rm(dir, { recursive: true, force: true }))
const env = { GIT_CONFIG_GLOBAL: '/dev/null', HOME: dir }
const repo = join(dir, 'suite')
const key = join(dir, 'signing-key')

test('cell init makes a genome that cell genome check accepts', async () => {
  const init = await runCli(['init', repo, '--key', key], env)
  assert.equal(init.code, 0, init.stderr)
  assert.match(init.stdout, /first commit [0-9a-f]{12} signed/)
  const check = await runCli(['genome', 'check', repo], env)
  assert.equal(check.code, 0, check.stderr)
  assert.match(check.stdout, /^ok: organism suite, 1 function/)
  const again = await runCli(['init', repo, '--key', key], env)
  assert.notEqual(again.code, 0)
  assert.match(again.stderr, /GENOME_INIT_NOT_EMPTY/)
})

test('cell genome check names file, line, column and field of a typo, and suggests the fix', async () => {
  const file = join(repo, 'organism.yaml')
  const original = await readFile(file, 'utf8')
  await writeFile(file, original.replace('start:', 'strat:'))
  execFileSync('git', ['-C', repo, 'commit', '-qam', 'typo'], { env: { ...process.env, ...env } })
  const check = await runCli(['genome', 'check', repo], env)
  assert.equal(check.code, 1)
  assert.match(check.stderr, /GENOME_INVALID/)
  assert.match(check.stderr, /organism\.yaml:\d+:\d+: functions\.\w+\.strat: unknown field \(did you mean "start"\?\)/)
})

test('cell genome check refuses a commit that is not signed', async () => {
  execFileSync('git', ['-C', repo, '-c', 'commit.gpgsign=false', 'commit', '-q', '--allow-empty', '-m', 'unsigned'], { env: { ...process.env, ...env } })
  const check = await runCli(['genome', 'check', repo], env)
  assert.equal(check.code, 1)
  assert.match(check.stderr, /GENOME_UNSIGNED/)
})
