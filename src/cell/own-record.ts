// This cell's record from what its parts report (pure): load as the genome's units, and when it is worth sending.
import type { OwnCellBody } from '../state/index.ts'

/** What the record publisher remembers between two looks. */
export interface RecordMemory { readonly shape: string, readonly sentAt: number, readonly cpu: { readonly at: number, readonly seconds: number } }

export const firstMemory = (now: number): RecordMemory => ({ shape: '', sentAt: -Infinity, cpu: { at: now, seconds: 0 } })

export interface RecordInput {
  name: string
  genome: string
  software: string
  addrs: OwnCellBody['addrs']
  /** The supervisor's functions: state, cumulative CPU seconds, memory. */
  functions: ReadonlyArray<{ name: string, state: string, cpuSeconds: number, memoryBytes: number }>
  /** Requests per second and p99 (ms) of a function here. */
  traffic: (fn: string) => { requestsPerSecond: number, p99Ms: number }
  /** Instances this cell asks for (scale.ts), by function; empty when it asks for none beyond the genome's minimum. */
  scale?: Readonly<Record<string, number>>
  /** The tree id of the genome files on disk (the immune system's last check). */
  tree?: string
}

/** Load only every this often while addresses and functions stay the same: a busy cell must not flood the organism. */
export const LOAD_EVERY_MS = 10_000

/** The record to send now, or null when nothing changed that cannot wait; and the memory for next time. */
export function nextRecord (mem: RecordMemory, input: RecordInput, now: number): { body: Omit<OwnCellBody, 'at'> | null, mem: RecordMemory } {
  // CPU as cores in use since the last record (the unit of the genome's division limits).
  const cpuSeconds = input.functions.reduce((s, f) => s + f.cpuSeconds, 0)
  const cores = now > mem.cpu.at ? Math.max(0, (cpuSeconds - mem.cpu.seconds) / ((now - mem.cpu.at) / 1000)) : 0
  const running = input.functions.filter((s) => s.state === 'running').map((s) => s.name).sort()
  const round = (x: number): number => Math.round(x * 10) / 10
  const traffic = Object.fromEntries(running.map((fn) => { const t = input.traffic(fn); return [fn, { rps: round(t.requestsPerSecond), p99: round(t.p99Ms) }] }))
  const rps = running.reduce((sum, fn) => sum + traffic[fn].rps, 0)
  const scale = input.scale ?? {}
  const shape = JSON.stringify([input.addrs, running, scale, input.tree])
  if (shape === mem.shape && now - mem.sentAt < LOAD_EVERY_MS) return { body: null, mem }
  const body = {
    name: input.name,
    addrs: input.addrs,
    load: { rps: round(rps), cpu: Math.round(cores * 100) / 100, memory: input.functions.reduce((s, f) => s + f.memoryBytes, 0) },
    functions: running,
    traffic,
    ...Object.keys(scale).length > 0 ? { scale: { ...scale } } : {},
    software: input.software,
    genome: input.genome,
    ...input.tree != null ? { tree: input.tree } : {}
  }
  return { body, mem: { shape, sentAt: now, cpu: { at: now, seconds: cpuSeconds } } }
}
