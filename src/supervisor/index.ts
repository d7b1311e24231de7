// Runs a cell's functions: spawn, health, restart with backoff, logs, resources.
//
//   const sup = createSupervisor({ stateDir, functions: genome.functions, genomeVersion: genome.commit, zone: genome.zone })
//   await sup.start()
//   for await (const s of sup.changes(signal)) if (s.state === 'running') route(s.name, sup.readyPort(s.name))
//   await sup.stop()
//
// States: stopped -> [setup] -> starting -> running <-> unhealthy; an exit of its own -> backoff
// (or crash-loop once backoff.crashLoopAfter exits fall in backoff.windowMs; it still retries at maxMs)
// -> starting. failed (no retry until startFunction): setup failed, port in use, data dir unwritable,
// code dir missing, never healthy within startTimeoutMs (killed: likely a wrong port or health path,
// so a restart loop would only hide it). unhealthy is not restarted: it is only taken out of routing.
// stopping -> stopped: SIGTERM to the process group, stopGraceMs, SIGKILL.
export { createSupervisor, metrics } from './supervisor.ts'
export { restartDelay, recentExits, defaultBackoff } from './backoff.ts'
export { canTransition, healthVerdict, hasProcess, states } from './transitions.ts'
export { supervisorError } from './errors.ts'
export { functionUids, hostIds, nodeDirOf, JAIL } from './confine.ts'
export type { Confinement } from './confine.ts'
export type { BackoffOptions, BackoffDecision } from './backoff.ts'
export type { FunctionState, FunctionStatus, FunctionError, SupervisorOptions, Supervisor, LogOptions } from './types.ts'
