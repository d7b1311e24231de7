// Server-sent events framing (pure): turn a view into the bytes of one event, and the comments that keep a stream alive.
import type { OrganismView } from './types.ts'

/** One SSE event. A field value may not contain a line break, so multi-line data becomes several `data:` lines. */
export function sseEvent (event: string, data: string, id?: string): string {
  if (/[\r\n]/.test(event) || (id != null && /[\r\n\0]/.test(id))) throw new TypeError('SSE event name and id must be single-line')
  let out = ''
  if (id != null) out += `id: ${id}\n`
  out += `event: ${event}\n`
  for (const line of data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`
  return out + '\n'
}

/** A comment line: ignored by EventSource, but keeps proxies and NAT from closing an idle stream. */
export function sseComment (text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`
}

/** How long the browser waits before reconnecting after the stream drops. */
export function sseRetry (ms: number): string {
  return `retry: ${Math.max(0, Math.round(ms))}\n\n`
}

/**
 * The view as JSON. Compact JSON never holds a raw line break (they are escaped inside strings), so it fits one
 * `data:` line; non-finite numbers would become null silently, so they are made 0 here on purpose.
 */
export function serializeView (view: OrganismView): string {
  return JSON.stringify(view, (_key, value: unknown) => typeof value === 'number' && !Number.isFinite(value) ? 0 : value)
}

/** The event a stream sends for each view. */
export function viewEvent (view: OrganismView): string {
  return sseEvent('view', serializeView(view))
}
