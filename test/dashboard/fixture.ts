// Test fixture: a fake, mutable OrganismView and its change feed, standing in for real organism state (wired later).
import { EventEmitter, on } from 'node:events'
import type { CellView, OrganismView } from '../../src/dashboard/index.ts'

const MiB = 1024 * 1024

function fakeCell (n: number, name: string, functions: CellView['functions']): CellView {
  return {
    id: `12D3KooWFake${name.toUpperCase()}${'x'.repeat(30)}${n}`,
    name,
    address: `127.0.0.${n + 1}:80`,
    state: 'alive',
    genome: 'a1b2c3d',
    load: { requestsPerSecond: 40 * n + 2.5, cpu: 0.1 * n, memoryBytes: (90 + 30 * n) * MiB },
    functions
  }
}

function fn (name: string, rps: number, p99Ms: number): CellView['functions'][number] {
  return { name, domain: `${name}.uni.example`, state: 'running', requestsPerSecond: rps, p99Ms, epoch: 1 }
}

export interface FakeOrganism {
  /** Mutate this freely, then call changed(). */
  view: OrganismView
  snapshot: () => OrganismView
  changed: () => void
  changes: (signal: AbortSignal) => AsyncIterable<unknown>
  /** How many change feeds are being iterated right now. */
  feeds: () => number
  cell: (name: string) => CellView
}

export function fakeOrganism (): FakeOrganism {
  const start = Date.now() - 60_000
  const view: OrganismView = {
    organism: 'campus-tools',
    zone: 'uni.example',
    self: '',
    at: Date.now(),
    cells: [
      fakeCell(1, 'alpha', [fn('quiz', 31.2, 18), fn('forum', 8.4, 42)]),
      fakeCell(2, 'beta', [fn('grades', 12, 25.5), fn('calendar', 3.1, 9)]),
      fakeCell(3, 'gamma', [fn('library', 55.7, 120)])
    ],
    events: [
      { at: start, kind: 'join', text: 'alpha founded the organism' },
      { at: start + 5000, kind: 'join', text: 'beta joined (admitted by alpha)' },
      { at: start + 9000, kind: 'join', text: 'gamma joined (admitted by beta)' },
      { at: start + 20_000, kind: 'restart', text: 'forum restarted on alpha (exit 1)' }
    ]
  }
  view.self = view.cells[0].id
  const bus = new EventEmitter()
  let feeds = 0
  return {
    view,
    snapshot: () => structuredClone({ ...view, at: Date.now() }),
    changed: () => { bus.emit('change') },
    changes: async function * (signal) {
      feeds++
      try {
        for await (const _ of on(bus, 'change', { signal })) yield null
      } finally { feeds-- }
    },
    feeds: () => feeds,
    cell: (name) => {
      const c = view.cells.find((x) => x.name === name)
      if (c == null) throw new Error(`fixture has no cell ${name}`)
      return c
    }
  }
}
