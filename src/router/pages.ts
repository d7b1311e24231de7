// The small plain-text error pages the router answers with (plain text: nothing in them can become markup).
import type { ServerResponse } from 'node:http'
import { STATUS_CODES } from 'node:http'
import type { OrganismError } from '../core/errors.ts'

export function pageText (status: number, err: OrganismError): string {
  return `${status} ${STATUS_CODES[status] ?? ''}\n\n${err.message}\n\nWhat to do: ${err.hint}\n\n(error ${err.code}, from the Organism cell router)\n`
}

/** Answers on a ServerResponse; if headers already went out, the only honest signal left is to cut the connection. */
export function sendPage (res: ServerResponse, status: number, err: OrganismError, extra?: Record<string, string>): void {
  if (res.headersSent) { res.destroy(); return }
  const body = pageText(status, err)
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-organism-error': err.code,
    ...extra
  })
  res.end(body)
}

/** The same page as raw HTTP/1.1 bytes, for sockets outside a ServerResponse (the data path, upgrades, parse errors). */
export function rawPage (status: number, err: OrganismError, extra?: Record<string, string>, close = true): string {
  const body = pageText(status, err)
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    `X-Organism-Error: ${err.code}`
  ]
  if (close) lines.push('Connection: close')
  for (const [k, v] of Object.entries(extra ?? {})) lines.push(`${k}: ${v}`)
  return lines.join('\r\n') + '\r\n\r\n' + body
}
