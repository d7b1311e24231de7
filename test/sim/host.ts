// A fake function host for simulated cells (no processes: a function starts in 50 ms of simulated time), its data as
// a list of writes, and a data mover that sends that list over the move stream as the real one sends a tar stream.
import type { FunctionStatus, FunctionState } from '../../src/supervisor/index.ts'
import type { DataMover, FunctionHost } from '../../src/migrate/index.ts'
import { FRAME, nextJson, writeJson } from '../../src/migrate/index.ts'
import type { Scheduler } from '../../src/core/clock.ts'

export const START_MS = 50
export const STOP_MS = 10

export class FakeFunctionHost implements FunctionHost {
  /** Each function's data here: the writes it acknowledged, in order. */
  readonly data = new Map<string, number[]>()
  private readonly states = new Map<string, FunctionState>()
  private readonly gen = new Map<string, number>()
  private readonly clock: Scheduler
  private readonly self: string
  /** Requests per second each local function serves (what the division policy reads). */
  rps: (fn: string) => number = () => 0

  constructor (self: string, functions: readonly string[], clock: Scheduler) {
    this.self = self
    this.clock = clock
    for (const fn of functions) this.states.set(fn, 'stopped')
  }

  status (): FunctionStatus[] {
    return [...this.states].map(([name, state]) => ({
      name, state, port: null, pid: null, restarts: 0, since: 0, lastExit: null, error: null, nextRestartAt: null,
      cpuSeconds: 0, memoryBytes: 0, dataBytes: this.data.get(this.dataDir(name))?.length ?? 0
    }))
  }

  get (fn: string): FunctionStatus | undefined { return this.status().find((s) => s.name === fn) }
  running (fn: string): boolean { return this.states.get(fn) === 'running' }
  dataDir (fn: string): string { return `/${this.self}/${fn}` }

  startFunction (fn: string): Promise<void> {
    if (this.states.get(fn) === 'running') return Promise.resolve()
    const gen = (this.gen.get(fn) ?? 0) + 1
    this.gen.set(fn, gen)
    this.states.set(fn, 'starting')
    return new Promise((resolve) => {
      this.clock.after(START_MS, () => {
        if (this.gen.get(fn) === gen) this.states.set(fn, 'running')
        resolve()
      })
    })
  }

  stopFunction (fn: string): Promise<void> {
    this.gen.set(fn, (this.gen.get(fn) ?? 0) + 1)
    if (this.states.get(fn) === 'stopped') return Promise.resolve()
    this.states.set(fn, 'stopping')
    return new Promise((resolve) => {
      this.clock.after(STOP_MS, () => { this.states.set(fn, 'stopped'); resolve() })
    })
  }

  /** A write served here: acknowledged only if the function runs here now. */
  write (fn: string, value: number): boolean {
    if (!this.running(fn)) return false
    const dir = this.dataDir(fn)
    this.data.set(dir, [...this.data.get(dir) ?? [], value])
    return true
  }
}

/** Sends the list of writes in one data frame; the receiver replaces its copy only once the whole frame arrived. */
export function fakeDataMover (host: FakeFunctionHost): DataMover {
  return {
    send: async (stream, _frames, dir) => {
      const writes = host.data.get(dir) ?? []
      await writeJson(stream, FRAME.data, writes)
      return { bytes: writes.length, sha256: '', via: 'stream' }
    },
    receive: async (_stream, frames, dest) => {
      const writes = await nextJson(frames, FRAME.data, 'data') as number[]
      host.data.set(dest, writes)
      return { bytes: writes.length, sha256: '', via: 'stream' }
    },
    discard: async (dir) => { host.data.delete(dir) }
  }
}

/** The operator's signature, faked: what the real one checks (the exact request) without ssh-keygen. */
export function fakeOperatorSigned (req: { fn: string, to: string, force: boolean }): { payload: string, signature: string } {
  return { payload: JSON.stringify(req), signature: 'fake-operator-signature' }
}

export const fakeOperatorAuthorize = async (req: { fn: string, to: string, force: boolean, signed: { payload: string, signature: string } | undefined }): Promise<void> => {
  const s = req.signed
  if (s?.signature !== 'fake-operator-signature' || s.payload !== JSON.stringify({ fn: req.fn, to: req.to, force: req.force })) {
    throw Object.assign(new Error(`override of ${req.fn} refused: not signed by the operator`), { code: 'GENOME_OVERRIDE_REFUSED' })
  }
}
