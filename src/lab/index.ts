// The lab: N empty test hosts on this machine (network namespaces + sshd as root, loopback sshd otherwise).
/**
 * @example
 * const lab = await createLab({ hosts: 3 })
 * try {
 *   const h1 = lab.host('h1')
 *   // ssh -i lab.clientKey -o UserKnownHostsFile=lab.knownHosts -p h1.sshPort h1.user@h1.address
 *   await lab.exec('h2', ['sh', '-c', 'id -un'])
 *   await lab.cut('h2'); await lab.heal('h2')
 * } finally {
 *   await lab.destroy()
 * }
 */
export { createLab, collectStale, defaultMode, LiveLab } from './lab.ts'
export type { Lab, LabHost, LabOptions, ExecOptions } from './lab.ts'
export type { LabMode, LabPlan, HostPlan } from './plan.ts'
export { planLab, fingerprint, knownHostsLine, sshdConfig, LAB_PREFIX } from './plan.ts'
export type { RunResult } from './run.ts'
export { stateRoot, listRecords } from './state.ts'
export type { LabRecord } from './state.ts'
export { labError } from './errors.ts'
