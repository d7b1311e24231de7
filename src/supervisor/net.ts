// Ports and health probes: pick a free port, tell whether a fixed one is taken, GET the health path.
import { createServer } from 'node:net'
import { request } from 'node:http'

/** Binds host:port and releases it; resolves the bound port, or the bind error code (e.g. EADDRINUSE). */
function tryBind (port: number, host: string): Promise<number | string> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'EBIND'))
    srv.listen({ port, host, exclusive: true }, () => {
      const addr = srv.address()
      const bound = typeof addr === 'object' && addr != null ? addr.port : port
      srv.close(() => resolve(bound))
    })
  })
}

/** True when something already listens on the port (so the function could not bind it). */
export async function portInUse (port: number): Promise<boolean> {
  return (await tryBind(port, '127.0.0.1')) === 'EADDRINUSE'
}

/**
 * A port that was free a moment ago and is not in `avoid` (ports this cell already handed out).
 * The function binds it later, so a race is possible; a function that then fails to bind crashes
 * and its restart gets a fresh port.
 */
export async function freePort (avoid: ReadonlySet<number>, range?: readonly [number, number], attempts = 50): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const want = range == null ? 0 : range[0] + Math.floor(Math.random() * (range[1] - range[0] + 1))
    if (avoid.has(want)) continue
    const got = await tryBind(want, '127.0.0.1')
    if (typeof got === 'number' && !avoid.has(got)) return got
  }
  throw new Error(`no free port on 127.0.0.1${range == null ? '' : ` in ${range[0]}-${range[1]}`}`)
}

/** One health probe: true on a 2xx answer within timeoutMs. Never throws. */
export function probe (port: number, path: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: timeoutMs, signal, agent: false }, (res) => {
      res.resume()
      const code = res.statusCode ?? 0
      res.on('end', () => resolve(code >= 200 && code < 300))
      res.on('error', () => resolve(false))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', () => resolve(false))
    req.end()
  })
}
