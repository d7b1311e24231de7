// The immune system on real cells: a function's code edited on one cell's disk is found within seconds, written
// back from the signed commit and the function restarted with it, with no command typed; requests through the other
// cell keep being answered throughout.
import { test, after } from 'node:test'
import { execFileSync } from 'node:child_process'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TestOrganism } from '../helpers/organism.ts'
import { request, waitFor } from '../helpers/cell-process.ts'

const org = await TestOrganism.create()
after(() => org.destroy())

test('a function file edited on a cell\'s disk is restored and its function restarted, and no request fails', async () => {
  const alpha = await org.start('alpha', 1)
  const beta = await org.start('beta', 2)
  await org.converged(2)
  const s = await alpha.status()
  const file = join(alpha.state, 'genome', s.genome.commit, 'functions/catalog/server.mjs')
  const signed = await readFile(file, 'utf8')
  const pid = s.functions.find((f) => f.name === 'catalog')?.pid
  assert.ok(pid != null)
  const betaPort = (await beta.status()).router.port
  // Reads of catalog through beta (forwarded to alpha, which owns it) while the file is edited and healed.
  let stop = false
  const statuses: number[] = []
  const reads = (async () => {
    while (!stop && statuses.length < 20_000) {
      const r = await request(betaPort, 'catalog.campus.test', '/courses').catch(() => ({ status: 0, body: '' }))
      statuses.push(r.status)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })()
  await new Promise((resolve) => setTimeout(resolve, 1000))
  await writeFile(file, signed.replace('cs101', 'cs666') + '\n// an intruder was here\n')
  await waitFor('alpha heals catalog by itself', async () => {
    const events = (await alpha.status()).events.map((e) => `${e.kind}: ${e.text}`)
    return events.some((e) => /^heal: restored 1 genome file from the signed commit; restarted catalog/.test(e)) ? events : false
  }, { tries: 120, everyMs: 250 })
  assert.equal(await readFile(file, 'utf8'), signed, 'the signed bytes are back')
  const events = (await alpha.status()).events.map((e) => `${e.kind}: ${e.text}`)
  assert.ok(events.some((e) => /^tamper: the genome on this cell's disk changed \(functions\/catalog\/server\.mjs\)/.test(e)), events.join('\n'))
  await waitFor('catalog serves again with a new process', async () => {
    const f = (await alpha.status()).functions.find((x) => x.name === 'catalog')
    return f?.state === 'running' && f.pid !== pid
  }, { tries: 120, everyMs: 250 })
  await new Promise((resolve) => setTimeout(resolve, 1000))
  stop = true
  await reads
  assert.ok(statuses.length > 50, `${statuses.length} reads`)
  assert.deepEqual([...new Set(statuses)], [200], 'every read through beta was answered (held while catalog restarted)')
  const body = (await request(betaPort, 'catalog.campus.test', '/courses')).body
  assert.ok(body.includes('cs101') && !body.includes('cs666'), 'the signed code answers')
  assert.deepEqual((await beta.status()).events.filter((e) => e.kind === 'tamper').map((e) => e.text), [], 'a cell that heals shows its peers no difference')
})

test('a cell that cannot heal is quarantined: its functions go to their replicas with every write, no data goes to it', { skip: process.getuid?.() !== 0 ? 'needs root (a read-only bind mount keeps the cell from healing)' : false }, async (t) => {
  const [alpha, beta] = org.cells
  await waitFor('catalog has its replica on beta', async () => (await alpha.status()).placements.find((p) => p.fn === 'catalog')?.replicaName === 'beta', { tries: 240, everyMs: 250 })
  const betaPort = (await beta.status()).router.port
  const posted = await request(betaPort, 'catalog.campus.test', '/courses', { method: 'POST', body: JSON.stringify({ id: 'qu101', title: 'Written before the quarantine' }) })
  assert.equal(posted.status, 201, posted.body)
  const s = await alpha.status()
  const dir = join(alpha.state, 'genome', s.genome.commit, 'functions/catalog')
  await writeFile(join(dir, 'server.mjs'), '// an intruder was here, and made the disk read-only\n', { flag: 'a' })
  // A read-only bind mount over the function's code: the cell cannot write the signed bytes back.
  execFileSync('mount', ['--bind', dir, dir])
  t.after(() => { try { execFileSync('umount', [dir]) } catch {} })
  execFileSync('mount', ['-o', 'remount,bind,ro', dir])
  await waitFor('beta takes catalog over from the quarantined alpha', async () => (await beta.status()).placements.find((p) => p.fn === 'catalog')?.ownerName === 'beta', { tries: 240, everyMs: 250 })
  const events = (await beta.status()).events.map((e) => e.text)
  assert.ok(events.some((e) => /alpha is quarantined/.test(e)), events.join('\n'))
  assert.ok(events.some((e) => /catalog taken over from alpha \(it was quarantined/.test(e)), events.join('\n'))
  assert.ok((await alpha.status()).events.some((e) => /could not restore functions\/catalog\/server\.mjs/.test(e.text)))
  const courses = await request(betaPort, 'catalog.campus.test', '/courses')
  assert.equal(courses.status, 200)
  assert.ok(courses.body.includes('qu101'), 'the write acknowledged before the quarantine is served by the replica')
  execFileSync('umount', [dir])
  await waitFor('alpha heals once its disk is writable again, and peers trust it again', async () => (await beta.status()).events.some((e) => /alpha runs its commit's files again/.test(e.text)), { tries: 240, everyMs: 250 })
})
