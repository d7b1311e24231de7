// A lab whose maker was kill -9ed is found by its record and removed, by the next createLab and by `lab down`.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { rmSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { createLab, listRecords } from '../../src/lab/index.ts'
import type { LabHost, LabMode } from '../../src/lab/index.ts'
import { run } from '../../src/lab/run.ts'
import { isRoot, leftovers, testStateDir } from './helpers.ts'

const fixture = new URL('./fixtures/make-lab.ts', import.meta.url).pathname
const main = new URL('../../src/lab/main.ts', import.meta.url).pathname

interface Orphan { prefix: string, dir: string, hosts: LabHost[] }

/** Starts a process that makes a lab, then sends it `signal` once the lab is up (SIGKILL leaves the lab behind). */
async function orphanLab (stateDir: string, mode?: LabMode, signal: NodeJS.Signals = 'SIGKILL'): Promise<Orphan> {
  const child = spawn(process.execPath, [fixture, stateDir, ...(mode != null ? [mode] : [])], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = once(child, 'exit')
  try {
    const [line] = await once(createInterface({ input: child.stdout }), 'line') as [string]
    return JSON.parse(line) as Orphan
  } finally {
    child.kill(signal)
    await exited.catch(() => {})
  }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`a process that made a lab tears it down when it gets ${signal}`, async (t) => {
    const stateDir = testStateDir()
    t.after(async () => {
      await run([process.execPath, main, 'down', '--state', stateDir])
      rmSync(stateDir, { recursive: true, force: true })
    })
    const lab = await orphanLab(stateDir, undefined, signal)
    assert.deepEqual(leftovers(lab.prefix, lab.dir), [])
    assert.deepEqual(listRecords(stateDir), [])
  })
}

for (const mode of (isRoot ? ['netns', 'loopback'] : ['loopback']) as LabMode[]) {
  test(`${mode}: the next createLab removes a lab whose maker was kill -9ed`, async (t) => {
    const stateDir = testStateDir()
    const orphan = await orphanLab(stateDir, mode)
    t.after(async () => {
      // Whatever happened above, leave nothing: `lab down` on the test's own state dir.
      await run([process.execPath, main, 'down', '--state', stateDir])
      rmSync(stateDir, { recursive: true, force: true })
    })
    assert.notDeepEqual(leftovers(orphan.prefix, orphan.dir), [], 'the orphan lab should still be there after kill -9')
    const lab = await createLab({ hosts: 1, stateDir, mode })
    try {
      // The sweep frees the orphan's id and the new lab may take it again: then the new lab's own host, bridge and
      // user carry the same prefix, and only the orphan's second host or its directory would be left of it.
      const left = leftovers(orphan.prefix, orphan.dir)
      assert.deepEqual(lab.prefix === orphan.prefix ? left.filter((l) => l.includes(`${orphan.prefix}-h2`) || l.includes(orphan.dir)) : left, [])
      assert.deepEqual(listRecords(stateDir).map((r) => r.plan.prefix), [lab.prefix])
    } finally { await lab.destroy() }
  })
}

test('`lab down` removes a lab whose maker was kill -9ed, and is fine with nothing up', async (t) => {
  const stateDir = testStateDir()
  t.after(() => rmSync(stateDir, { recursive: true, force: true }))
  const orphan = await orphanLab(stateDir)
  const down = await run([process.execPath, main, 'down', '--state', stateDir])
  assert.equal(down.code, 0, down.stderr)
  assert.match(down.stdout, new RegExp(`removed ${orphan.prefix}\\b`))
  assert.deepEqual(leftovers(orphan.prefix, orphan.dir), [])
  const again = await run([process.execPath, main, 'down', '--state', stateDir])
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stdout, /no lab was up/)
})
