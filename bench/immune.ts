// bench:immune — the immune system on two real cells on loopback: a function file edited on alpha's disk, and the
// time until alpha restored it and served the function again (goal ≤ 30 s); then (as root) the same edit under a
// read-only bind mount, so that alpha cannot heal: the time until beta quarantined alpha (goal ≤ 10 s) and until
// beta serves the function from its replica. Times are from the edit, by the cells' own event clocks.
import { execFileSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TestOrganism } from '../test/helpers/organism.ts'
import { request, waitFor } from '../test/helpers/cell-process.ts'

const org = await TestOrganism.create()
process.once('SIGINT', () => { void org.destroy().finally(() => process.exit(130)) })
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
let mounted: string | null = null
try {
  const alpha = await org.start('alpha', 1)
  const beta = await org.start('beta', 2)
  await org.converged(2)
  await waitFor('catalog has its replica on beta', async () => (await alpha.status()).placements.find((p) => p.fn === 'catalog')?.replicaName === 'beta', { tries: 240, everyMs: 250 })
  const commit = (await alpha.status()).genome.commit
  const dir = join(alpha.state, 'genome', commit, 'functions/catalog')
  const betaPort = (await beta.status()).router.port

  const t0 = Date.now()
  await writeFile(join(dir, 'server.mjs'), '// tampered\n', { flag: 'a' })
  const healed = await waitFor('alpha heals', async () => (await alpha.status()).events.find((e) => e.kind === 'heal' && e.at >= t0), { tries: 600, everyMs: 50 })
  await waitFor('catalog serves again', async () => (await request(betaPort, 'catalog.campus.test', '/courses')).status === 200, { tries: 600, everyMs: 50 })
  const serving = Date.now()
  console.log(`tampered file: restored ${secs(healed.at - t0)} after the edit, catalog served again after ${secs(serving - t0)} (goal ≤ 30 s; a change under the export wakes the check, which also runs every 5 s)`)

  if (process.getuid?.() === 0) {
    const t1 = Date.now()
    await writeFile(join(dir, 'server.mjs'), '// tampered, on a read-only disk\n', { flag: 'a' })
    execFileSync('mount', ['--bind', dir, dir]); mounted = dir
    execFileSync('mount', ['-o', 'remount,bind,ro', dir])
    const q = await waitFor('beta quarantines alpha', async () => (await beta.status()).events.find((e) => e.at >= t1 && /alpha is quarantined/.test(e.text)), { tries: 1200, everyMs: 50 })
    await waitFor('beta serves catalog', async () => (await beta.status()).placements.find((p) => p.fn === 'catalog')?.ownerName === 'beta', { tries: 1200, everyMs: 50 })
    const owned = Date.now()
    console.log(`cell that cannot heal: quarantined ${secs(q.at - t1)} after the edit (goal ≤ 10 s), its functions served by beta ${secs(owned - t1)} after it`)
  } else console.log('not root: the read-only case (quarantine) is skipped')
} finally {
  if (mounted != null) { try { execFileSync('umount', [mounted]) } catch {} }
  await org.destroy()
}
