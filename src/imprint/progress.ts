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
  return {
    onProgress: (e) => {
      stopSpin()
      if (e.phase === 'start') {
        timer = setInterval(() => { out.write(`\r${FRAMES[frame++ % FRAMES.length]} ${e.step}…\x1b[K`) }, 80)
        timer.unref()
      } else {
        out.write(`\r${e.phase === 'fail' ? '✗' : '✓'} ${result(e)}\x1b[K\n`)
      }
    },
    stop: stopSpin
  }
}
