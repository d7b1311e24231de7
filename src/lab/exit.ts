// Tears live labs down when the process ends: normal exit, SIGINT, SIGTERM, or an uncaught error.
interface Destroyable { destroySync: () => string[] }

const live = new Set<Destroyable>()
let hooked = false

function destroyAll (): void {
  for (const lab of [...live]) { try { lab.destroySync() } catch { /* best effort at exit */ } }
}

function onSignal (signal: NodeJS.Signals): void {
  destroyAll()
  unhook()
  // With our handler gone the signal does what it would have done (usually: end the process).
  process.kill(process.pid, signal)
}

function hook (): void {
  if (hooked) return
  hooked = true
  process.on('exit', destroyAll)
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.on('SIGHUP', onSignal)
}

function unhook (): void {
  if (!hooked) return
  hooked = false
  process.off('exit', destroyAll)
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)
  process.off('SIGHUP', onSignal)
}

export function remember (lab: Destroyable): void { live.add(lab); hook() }

export function forget (lab: Destroyable): void {
  live.delete(lab)
  if (live.size === 0) unhook()
}
