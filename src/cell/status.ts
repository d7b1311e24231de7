// The cell's status as one plain object: what `cell status` prints and `cell status --json` returns.
import type { Genome } from '../genome/types.ts'
import type { Supervisor } from '../supervisor/index.ts'
import type { Router, FunctionTraffic } from '../router/index.ts'
import type { CellPaths } from './paths.ts'

export interface FunctionReport {
  name: string
  domain: string
  pathPrefix: string | null
  state: string
  port: number | null
  pid: number | null
  restarts: number
  error: { code: string, message: string, hint: string } | null
  cpuSeconds: number
  memoryBytes: number
  dataBytes: number
  traffic: FunctionTraffic
}

export interface CellStatus {
  organism: string
  zone: string
  genome: { commit: string }
  cell: { pid: number, stateDir: string, startedAt: string, uptimeSeconds: number }
  router: { port: number, url: string }
  api: { port: number }
  functions: FunctionReport[]
}

export function cellStatus (parts: { genome: Genome, commit: string, paths: CellPaths, router: Router, supervisor: Supervisor, apiPort: number, startedAt: number }): CellStatus {
  const { genome, router, supervisor } = parts
  return {
    organism: genome.organism,
    zone: genome.zone,
    genome: { commit: parts.commit },
    cell: { pid: process.pid, stateDir: parts.paths.root, startedAt: new Date(parts.startedAt).toISOString(), uptimeSeconds: Math.round((Date.now() - parts.startedAt) / 1000) },
    router: { port: router.port, url: `http://127.0.0.1:${router.port}` },
    api: { port: parts.apiPort },
    functions: genome.functions.map((f) => {
      const s = supervisor.get(f.name)
      return {
        name: f.name,
        domain: f.domain,
        pathPrefix: f.pathPrefix,
        state: s?.state ?? 'stopped',
        port: s?.port ?? null,
        pid: s?.pid ?? null,
        restarts: s?.restarts ?? 0,
        error: s?.error ?? null,
        cpuSeconds: s?.cpuSeconds ?? 0,
        memoryBytes: s?.memoryBytes ?? 0,
        dataBytes: s?.dataBytes ?? 0,
        traffic: router.stats(f.name)
      }
    })
  }
}
