// A function on several cells through real routers: the least busy instance gets a request, this cell's own on a
// tie, and a cell that cannot be reached loses no request (the next instance takes it) and gets none for a while.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import type { TestContext } from 'node:test'
import { createRouter, buildRouteTable } from '../../src/router/index.ts'
import type { Router, Upstream } from '../../src/router/index.ts'
import { setLogSink } from '../../src/core/log.ts'
import { startUpstream, send } from './helpers.ts'

setLogSink(() => {}, 'error')

const HOST = 'web.example.org'

async function startRouter (t: TestContext, self: string, resolve: () => Upstream): Promise<Router> {
  const router = createRouter({ port: 0, host: '127.0.0.1', self, resolve })
  router.setRoutes(buildRouteTable([{ function: 'web', domain: HOST, pathPrefix: null }]))
  await router.start()
  t.after(async () => { await router.stop() })
  return router
}

interface Cell { name: string, router: Router, served: () => number, down: boolean, opened: number }

/** Cells a, b, c each run an instance of "web" (it answers after `delayMs` with its cell's name); a forwards to b and c. */
async function organism (t: TestContext, delayMs: number): Promise<{ a: Router, cells: Cell[] }> {
  const cells: Cell[] = []
  for (const name of ['a', 'b', 'c']) {
    let served = 0
    const fn = await startUpstream(t, (req, res) => {
      served++
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => { setTimeout(() => { res.writeHead(200, { 'x-cell': name }); res.end(Buffer.concat(chunks)) }, delayMs) })
    })
    const cell: Cell = { name, router: null as unknown as Router, served: () => served, down: false, opened: 0 }
    cell.router = await startRouter(t, name, () => ({ kind: 'local', port: fn.port }))
    cells.push(cell)
    if (name === 'a') {
      const localPort = fn.port
      cell.router = await startRouter(t, 'a', () => ({
        kind: 'spread',
        port: localPort,
        remote: cells.slice(1).map((c) => ({
          kind: 'remote' as const,
          cell: c.name,
          // A dead cell's link cannot be opened: the connection is refused.
          open: async () => { c.opened++; if (c.down) throw new Error('connect ECONNREFUSED (cell is down)'); return net.connect({ port: c.router.port, host: '127.0.0.1' }) }
        }))
      }))
    }
  }
  return { a: cells[0].router, cells }
}

async function load (port: number, total: number, concurrency: number, body?: Buffer): Promise<Array<{ status: number, cell: string, echoed: string }>> {
  const out: Array<{ status: number, cell: string, echoed: string }> = []
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      next++
      const r = await send(port, { method: body == null ? 'GET' : 'POST', headers: { host: HOST }, body })
      out.push({ status: r.status, cell: String(r.headers['x-cell']), echoed: r.body.toString() })
    }
  }))
  return out
}

test('one request at a time stays at this cell\'s own instance (no hop on a tie)', async (t) => {
  const { a, cells } = await organism(t, 0)
  const got = await load(a.port, 20, 1)
  assert.deepEqual([...new Set(got.map((r) => r.cell))], ['a'])
  assert.equal(cells[1].served() + cells[2].served(), 0)
})

test('concurrent requests spread over every instance by how many each has outstanding', async (t) => {
  const { a, cells } = await organism(t, 30)
  const got = await load(a.port, 90, 9)
  assert.ok(got.every((r) => r.status === 200), `statuses: ${[...new Set(got.map((r) => r.status))].join(',')}`)
  for (const c of cells) assert.ok(c.served() >= 15, `${c.name} served ${c.served()} of 90 (each should take about a third)`)
})

test('a cell that cannot be reached loses no request, then gets none for a while', async (t) => {
  const { a, cells } = await organism(t, 20)
  cells[2].down = true
  const got = await load(a.port, 60, 6)
  assert.deepEqual([...new Set(got.map((r) => r.status))], [200], 'every request answered by a live instance')
  assert.equal(cells[2].served(), 0)
  assert.ok(cells[2].opened <= 2, `the dead cell was tried ${cells[2].opened} times; after its first failure it is left out for seconds`)
  assert.ok(cells[1].served() > 0, 'the live remote instance still takes its share')
})

test('a request with a body goes to the next instance when nothing of it reached the dead one', async (t) => {
  const { a, cells } = await organism(t, 20)
  cells[1].down = true
  cells[2].down = true
  const body = Buffer.from('a write that must run exactly once')
  const got = await load(a.port, 12, 6, body)
  assert.deepEqual([...new Set(got.map((r) => r.status))], [200])
  assert.ok(got.every((r) => r.echoed === body.toString()), 'each body arrived whole')
  assert.equal(cells[0].served(), 12, 'every request ran once, at the only live instance')
})

test('the router remembers the last distinct reads answered 2xx (what an update\'s trial asks again), not writes', async (t) => {
  const { a } = await organism(t, 0)
  for (const path of ['/a', '/b', '/a']) await send(a.port, { path, headers: { host: HOST } })
  await send(a.port, { method: 'POST', path: '/write', headers: { host: HOST }, body: Buffer.from('x') })
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.deepEqual(a.recentReads('web'), ['/b', '/a'])
  assert.deepEqual(a.recentReads('nosuch'), [])
})
