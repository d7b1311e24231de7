// Tears live labs down when the process ends: normal exit, SIGINT, SIGTERM, SIGHUP, or an uncaught error.
interface Destroyable { destroySync: () => string[] }

/** Every live lab, and whether the signal handlers may tear it down (false: its owner stops in order itself). */
const live = new Map<Destroyable, boolean>()
let exitHooked = false
let signalsHooked = false

function destroyAll (): void {
  for (const lab of [...live.keys()]) { try { lab.destroySync() } catch { /* best effort at exit */ } }
}

function onSignal (signal: NodeJS.Signals): void {
  for (const [lab, onSignals] of [...live]) if (onSignals) { try { lab.destroySync() } catch { /* best effort */ } }
  setSignals(false)
  // With our handler gone the signal does what it would have done (usually: end the process).
  process.kill(process.pid, signal)
}

function setSignals (on: boolean): void {
  if (on === signalsHooked) return
  signalsHooked = on
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (on) process.on(s, onSignal)
    else process.off(s, onSignal)
  }
}

function rehook (): void {
  const anyLab = live.size > 0
  if (anyLab !== exitHooked) {
    exitHooked = anyLab
    if (anyLab) process.on('exit', destroyAll)
    else process.off('exit', destroyAll)
  }
  setSignals([...live.values()].some((v) => v))
}

/** onSignals false: the owner handles SIGINT/SIGTERM (and calls destroy); the lab still goes at exit. */
export function remember (lab: Destroyable, onSignals = true): void { live.set(lab, onSignals); rehook() }

export function forget (lab: Destroyable): void { live.delete(lab); rehook() }
