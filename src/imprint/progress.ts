// Printing imprint progress: a line rewritten in place on a terminal, plain lines when piped.
import type { Writable } from 'node:stream'
import type { ProgressEvent } from './imprint.ts'

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

export interface ProgressPrinter {
  readonly onProgress: (e: ProgressEvent) => void
  /** Stops the spinner (call when imprint settles, success or not). */
  readonly stop: () => void
}

export function progressPrinter (out: Writable & { isTTY?: boolean, columns?: number } = process.stdout): ProgressPrinter {
  let timer: NodeJS.Timeout | null = null
  let frame = 0
  const stopSpin = (): void => { if (timer != null) { clearInterval(timer); timer = null } }
  const result = (e: ProgressEvent): string => {
    const mark = e.phase === 'done' ? 'ok' : e.phase === 'skip' ? 'skipped' : 'FAILED'
    return `${e.step}: ${mark}${e.ms != null ? ` (${e.ms} ms)` : ''}${e.detail != null ? ` ${e.detail}` : ''}`
  }
  // A terminal that reports 0 columns gets plain lines too (a spinner there only burns CPU).
  if (out.isTTY !== true || (out.columns ?? 0) <= 0) {
    return { onProgress: (e) => { out.write(e.phase === 'start' ? `${e.step}: …\n` : result(e) + '\n') }, stop: () => {} }
  }
  // Steps may run at once (the copies): the spinner line names every running step; each result gets its own line.
  const running: string[] = []
  const spin = (): void => {
    stopSpin()
    if (running.length === 0) return
    timer = setInterval(() => { out.write(`\r${FRAMES[frame++ % FRAMES.length]} ${running.join(', ')}…\x1b[K`) }, 80)
    timer.unref()
  }
  return {
    onProgress: (e) => {
      const at = running.indexOf(e.step)
      if (at >= 0) running.splice(at, 1)
      if (e.phase === 'start') running.push(e.step)
      else out.write(`\r${e.phase === 'fail' ? '✗' : '✓'} ${result(e)}\x1b[K\n`)
      spin()
    },
    stop: () => { running.length = 0; stopSpin() }
  }
}
