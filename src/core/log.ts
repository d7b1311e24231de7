// Named loggers (one per component), written as one line each to stderr; level from ORGANISM_LOG.

type Level = 'debug' | 'info' | 'warn' | 'error'
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  debug: (msg: string, fields?: Record<string, unknown>) => void
  info: (msg: string, fields?: Record<string, unknown>) => void
  warn: (msg: string, fields?: Record<string, unknown>) => void
  error: (msg: string, fields?: Record<string, unknown>) => void
  child: (name: string) => Logger
}

export type LogSink = (line: string) => void

let sink: LogSink = (line) => { process.stderr.write(line + '\n') }
let threshold: number = order[(process.env.ORGANISM_LOG as Level | undefined) ?? 'info'] ?? order.info

/** Redirect every logger (the cell writes its own log file; tests capture lines). */
export function setLogSink (next: LogSink, level?: Level): void {
  sink = next
  if (level != null) threshold = order[level]
}

export function logger (name: string): Logger {
  const emit = (level: Level) => (msg: string, fields?: Record<string, unknown>): void => {
    if (order[level] < threshold) return
    const extra = fields == null ? '' : ' ' + JSON.stringify(fields, (_k, v) => v instanceof Error ? { message: v.message, code: (v as { code?: string }).code } : v)
    sink(`${new Date().toISOString()} ${level.padEnd(5)} ${name}: ${msg}${extra}`)
  }
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (sub) => logger(`${name}:${sub}`)
  }
}
