// Where a cell keeps its things: one state directory per cell (one cell per host).
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { PIN_FILE } from '../genome/index.ts'

export interface CellPaths {
  readonly root: string
  /** Verified genome commits, exported one folder each. */
  readonly checkouts: string
  /** The first and the last genome commit this cell trusted (genome/pin.ts). */
  readonly genomePin: string
  /** The supervisor's data, logs and pid files. */
  readonly functions: string
  /** The running cell's API address and token (mode 0600). */
  readonly apiFile: string
  readonly lockFile: string
  readonly logFile: string
  /** The demo organism's genome repo and signing key (npm start). */
  readonly demoGenome: string
  readonly demoKey: string
}

export function defaultStateDir (): string {
  return process.env.ORGANISM_STATE ?? join(homedir(), '.organism', 'cell')
}

export function cellPaths (stateDir: string = defaultStateDir()): CellPaths {
  const root = resolve(stateDir)
  return {
    root,
    checkouts: join(root, 'genome'),
    genomePin: join(root, PIN_FILE),
    functions: join(root, 'functions'),
    apiFile: join(root, 'cell.json'),
    lockFile: join(root, 'cell.lock'),
    logFile: join(root, 'cell.log'),
    demoGenome: join(root, 'demo-genome'),
    demoKey: join(root, 'demo-signing-key')
  }
}
