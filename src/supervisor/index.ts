// Runs a cell's functions: spawn, health, restart with backoff, logs, resources.
//
//   const sup = createSupervisor({ stateDir, functions: genome.functions, genomeVersion: genome.commit, zone: genome.zone })
//   await sup.start()
//   for await (const s of sup.changes(signal)) if (s.state === 'running') route(s.name, sup.readyPort(s.name))
//   await sup.stop()
export { createSupervisor, metrics } from './supervisor.ts'
export { restartDelay, recentExits, defaultBackoff } from './backoff.ts'
export { canTransition, healthVerdict, states } from './transitions.ts'
export { supervisorError } from './errors.ts'
export type { BackoffOptions, BackoffDecision } from './backoff.ts'
export type { FunctionState, FunctionStatus, FunctionError, SupervisorOptions, Supervisor, LogOptions } from './types.ts'
