// One cell: a verified genome, the supervisor running its functions, the router in front, the local API beside.
import { writeFile, rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { dirname } from 'node:path'
import { logger } from '../core/log.ts'
import { checkoutGenome } from '../genome/index.ts'
import type { Genome } from '../genome/types.ts'
import { createSupervisor } from '../supervisor/index.ts'
import type { Supervisor } from '../supervisor/index.ts'
import { createRouter, buildRouteTable } from '../router/index.ts'
import type { Router, Upstream } from '../router/index.ts'
import { createLocalApi } from './api.ts'
import type { LocalApi } from './api.ts'
import { acquireLock } from './lock.ts'
import { cellPaths } from './paths.ts'
import type { CellPaths } from './paths.ts'
import { cellStatus } from './status.ts'
import type { CellStatus } from './status.ts'

const log = logger('cell')

export interface CellOptions {
  stateDir: string
  /** A git repository holding the genome. */
  genomeRepo: string
  ref?: string
  /** Router port; null takes the genome's, then 8080. 0 picks a free port. */
  routerPort?: number | null
  routerHost?: string
  apiPort?: number
  /** Supervisor timing, for tests. */
  supervisor?: { healthIntervalMs?: number, startTimeoutMs?: number, stopGraceMs?: number }
}

export interface Cell {
  readonly paths: CellPaths
  readonly genome: Genome
  readonly routerPort: number
  readonly apiPort: number
  status: () => CellStatus
  /** Resolves when the cell has stopped (by stop(), a signal, or the API). */
  readonly stopped: Promise<void>
  stop: () => Promise<void>
}

export async function startCell (opts: CellOptions): Promise<Cell> {
  const paths = cellPaths(opts.stateDir)
  const releaseLock = await acquireLock(paths.lockFile)
  const cleanups: Array<() => Promise<void>> = [releaseLock]
  const unwind = async (): Promise<void> => { for (const c of cleanups.reverse()) await c().catch(() => {}) }
  try {
    const { commit, genome } = await checkoutGenome(opts.genomeRepo, opts.ref ?? 'HEAD', paths.checkouts)
    log.info('genome verified', { organism: genome.organism, commit })

    let supervisor: Supervisor | undefined
    const resolve = (fn: string): Upstream => {
      const port = supervisor?.readyPort(fn) ?? null
      if (port != null) return { kind: 'local', port }
      const st = supervisor?.get(fn)
      const wait = st?.nextRestartAt != null ? Math.max(1, Math.ceil((st.nextRestartAt - Date.now()) / 1000)) : 5
      return { kind: 'unavailable', reason: `function ${fn} is ${st?.state ?? 'starting'}`, retryAfterSeconds: wait }
    }
    const router: Router = createRouter({ port: opts.routerPort ?? genome.routerPort ?? 8080, host: opts.routerHost, resolve })
    router.setRoutes(buildRouteTable(genome.functions.map((f) => ({ function: f.name, domain: f.domain, pathPrefix: f.pathPrefix }))))
    await router.start()
    cleanups.push(() => router.stop())

    supervisor = createSupervisor({
      stateDir: paths.functions,
      functions: genome.functions,
      genomeVersion: commit,
      zone: genome.zone,
      env: {
        ORGANISM_ROUTER: `http://127.0.0.1:${router.port}`,
        // Functions run on the cell's own runtime: `node` in a start command is this Node.
        PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`
      },
      ...opts.supervisor
    })
    const sup = supervisor
    await sup.start()
    cleanups.push(() => sup.stop())

    let resolveStopped!: () => void
    const stopped = new Promise<void>((resolve) => { resolveStopped = resolve })
    let stopping: Promise<void> | null = null
    const startedAt = Date.now()
    const status = (): CellStatus => cellStatus({ genome, commit, paths, router, supervisor: sup, apiPort: api.port, startedAt })
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        log.info('stopping')
        // API first, then the router (no new requests), then the functions (drain), then the lock.
        await api.stop().catch(() => {})
        await rm(paths.apiFile, { force: true })
        await router.stop().catch((err: unknown) => log.warn('router stop failed', { err }))
        await sup.stop().catch((err: unknown) => log.warn('supervisor stop failed', { err }))
        await releaseLock()
        resolveStopped()
      })()
      return stopping
    }

    const token = randomBytes(24).toString('base64url')
    const api: LocalApi = createLocalApi({ port: opts.apiPort ?? 0, token, status, supervisor: sup, router, onStop: () => { void stop() } })
    await api.start()
    await writeFile(paths.apiFile, JSON.stringify({ pid: process.pid, apiPort: api.port, routerPort: router.port, token }), { mode: 0o600 })
    log.info('cell started', { router: router.port, api: api.port })
    return { paths, genome, routerPort: router.port, apiPort: api.port, status, stopped, stop }
  } catch (err) {
    await unwind()
    throw err
  }
}
