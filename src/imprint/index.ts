// The imprint module: host pool, claim, executors (SSH and local), and the imprint steps with rollback.
/**
 * @example
 * const pool = await loadPool(stateDir, genomeHostsFile)
 * const target = sshTarget(pool[0], privateKey)
 * const p = progressPrinter()
 * await imprint(target, { genomeRepo, commit, bundlePath, token, claimant: { organism, cell: myId },
 *   cell: { name: 'c2', advertise: pool[0].host, listen: '0.0.0.0', routerPort: 80, dnsPort: 53 }, onProgress: p.onProgress })
 */
export { imprint, cleanupHost, retireHost, STEPS } from './imprint.ts'
export type { ImprintOptions, ImprintResult, ImprintTarget, ProgressEvent, StepName } from './imprint.ts'
export { addHost, loadPool, sshTarget, localTarget, STATE_POOL } from './hosts.ts'
export type { AddHostOptions } from './hosts.ts'
export { parseHostUrl, formatHostUrl, parsePin, parsePool, mergePools, fingerprintOf } from './pool.ts'
export type { HostAddress, PoolHost } from './pool.ts'
export type { Executor, ExecResult, ExecOptions, CallOptions, PutOptions } from './executor.ts'
export { SshExecutor } from './ssh.ts'
export { LocalExecutor } from './local.ts'
export { claimHost, releaseHost, CLAIM_DIR } from './claim.ts'
export type { Claim, Claimant, Holder } from './claim.ts'
export { parseProbe, preflightProblems, platformOf } from './preflight.ts'
export type { PreflightWants } from './preflight.ts'
export { parseJournal, rollbackPlan } from './journal.ts'
export { progressPrinter } from './progress.ts'
export { imprintError } from './errors.ts'
export { makeRuntimePacks, findRuntimePacks, pickPack } from './runtime-pack.ts'
export { buildCellBundle, CELL_ENTRY, CHECKOUT_ONLY } from './cell-bundle.ts'
export type { CellBundle } from './cell-bundle.ts'
export type { RuntimePacks, PackFormat } from './runtime-pack.ts'
