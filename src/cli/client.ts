// Talks to a running cell's local API, found through the state directory's cell.json.
import http from 'node:http'
import { readFile } from 'node:fs/promises'
import { cellError } from '../cell/errors.ts'
import { lockHolder } from '../cell/lock.ts'
import type { CellPaths } from '../cell/paths.ts'

export interface ApiAddress { pid: number, apiPort: number, routerPort: number, token: string }

export async function findCell (paths: CellPaths): Promise<ApiAddress> {
  let addr: ApiAddress
  try { addr = JSON.parse(await readFile(paths.apiFile, 'utf8')) as ApiAddress } catch {
    throw cellError('CELL_NOT_RUNNING', `no cell is running with the state directory ${paths.root}`)
  }
  if (await lockHolder(paths.lockFile) == null) {
    throw cellError('CELL_NOT_RUNNING', `the cell that used ${paths.root} (pid ${addr.pid}) is gone`)
  }
  return addr
}

/** One API call; `stream` receives the body as it comes (logs -f). */
export function callCell (addr: ApiAddress, method: string, path: string, stream?: (chunk: string) => void, timeoutMs = 10_000): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: addr.apiPort, method, path, headers: { authorization: `Bearer ${addr.token}` }, timeout: stream == null ? timeoutMs : 0 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      // Only a successful body is streamed; an error body is kept to be reported.
      const live = stream != null && res.statusCode === 200 ? stream : null
      res.on('data', (c: string) => { if (live != null) live(c); else body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', (cause) => reject(cellError('CELL_API_UNREACHABLE', `the cell's API on 127.0.0.1:${addr.apiPort} did not answer: ${cause.message}`, { cause })))
    req.end()
  })
}
