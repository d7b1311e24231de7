// `npm run bench:genome`: what a cell's start spends on its genome (examples/campus, signed here). A first start
// copies the commit into the cell's own object store, verifies it there and exports it; a later start re-checks the
// export by content. Baseline in the same run: `git archive | tar -x` of the same commit (an export that checks
// nothing). Prints medians of BENCH_RUNS (default 7).
import { execFileSync } from 'node:child_process'
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkoutGenome, signedCommit } from '../src/genome/index.ts'
import { demoSource } from '../src/cell/demo.ts'
import { setLogSink } from '../src/core/log.ts'

setLogSink(() => {})
process.env.GIT_CONFIG_GLOBAL = '/dev/null'
const runs = Number(process.env.BENCH_RUNS ?? 7)
const dir = await mkdtemp(join(tmpdir(), 'bench-genome-'))
try {
  const repo = join(dir, 'genome')
  await cp(demoSource, repo, { recursive: true })
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')])
  await writeFile(join(repo, 'allowed_signers'), `bench@example.org namespaces="git" ${execFileSync('cat', [join(dir, 'key.pub')], { encoding: 'utf8' })}`)
  execFileSync('git', ['init', '-q', '-b', 'main', repo])
  const commit = await signedCommit(repo, 'bench', join(dir, 'key'))
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const time = async (f: () => Promise<unknown>): Promise<number> => { const t = performance.now(); await f(); return performance.now() - t }
  const first: number[] = []
  const again: number[] = []
  const archive: number[] = []
  for (let i = 0; i < runs; i++) {
    const state = join(dir, `state-${i}`)
    first.push(await time(async () => await checkoutGenome(repo, 'main', join(state, 'genome'), { pinFile: join(state, 'pin.json') })))
    again.push(await time(async () => await checkoutGenome(repo, 'main', join(state, 'genome'), { pinFile: join(state, 'pin.json') })))
    const out = join(dir, `archive-${i}`)
    archive.push(await time(async () => { execFileSync('mkdir', ['-p', out]); execFileSync('sh', ['-c', `git -C '${repo}' archive ${commit} | tar -x -C '${out}'`]) }))
  }
  const base = median(archive)
  console.log(`genome checkout (examples/campus, ${runs} runs, medians): first start ${median(first).toFixed(0)} ms (${(median(first) / base).toFixed(1)}x git archive), later start ${median(again).toFixed(0)} ms (${(median(again) / base).toFixed(1)}x); git archive | tar -x ${base.toFixed(0)} ms`)
} finally {
  await rm(dir, { recursive: true, force: true })
}
