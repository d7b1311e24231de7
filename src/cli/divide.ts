// `cell hosts` (the pool, pinned host keys) and `cell divide` (imprint a host and hand it a function).
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { OrganismError } from '../core/errors.ts'
import type { CellPaths } from '../cell/paths.ts'
import { findCell } from './client.ts'
import { cliError } from './errors.ts'
import type { CliValues } from './main.ts'
import http from 'node:http'

const identityOf = (values: CliValues): string => resolve(values.identity ?? join(homedir(), '.ssh', 'id_ed25519'))

export async function hostsCommand (values: CliValues, paths: CellPaths, rest: string[]): Promise<number> {
  // ssh2 loads only here: `cell divide` asks the running cell, which does the SSH.
  const { addHost, loadPool } = await import('../imprint/index.ts')
  if (rest[0] === 'add') {
    if (rest[1] == null) throw cliError('CLI_USAGE', 'cell hosts add needs ssh://user@host[:port]')
    const privateKey = await readFile(identityOf(values)).catch((cause: unknown) => { throw cliError('CLI_USAGE', `cannot read the SSH key ${identityOf(values)}; pass --identity KEY`, { cause }) })
    const host = await addHost(paths.root, rest[1], { privateKey, hostKey: values['host-key'], acceptNewHostKey: values['accept-new-host-key'] === true })
    console.log(`pinned ${host.url} with host key ${host.fingerprint}`)
    return 0
  }
  if (rest.length > 0) throw cliError('CLI_USAGE', `unknown: cell hosts ${rest.join(' ')}`)
  const pool = await loadPool(paths.root)
  for (const h of pool) console.log(`${h.url}  ${h.fingerprint}${Object.keys(h.labels).length > 0 ? '  ' + JSON.stringify(h.labels) : ''}`)
  if (pool.length === 0) console.log('the pool is empty: cell hosts add ssh://user@host --host-key SHA256:…')
  return 0
}

/** Asks the running cell to divide; prints its steps as they come (the cell does the work, so it can also do it by itself). */
export async function divideCommand (values: CliValues, paths: CellPaths, url: string | undefined): Promise<number> {
  if (url == null) throw cliError('CLI_USAGE', 'cell divide needs ssh://user@host[:port] of a pinned pool host')
  const addr = await findCell(paths)
  const q = new URLSearchParams({ host: url, identity: identityOf(values) })
  if (values.function != null) q.set('fn', values.function)
  let last = ''
  await new Promise<void>((done, fail) => {
    const req = http.request({ host: '127.0.0.1', port: addr.apiPort, method: 'POST', path: `/divide?${q}`, headers: { authorization: `Bearer ${addr.token}` } }, (res) => {
      let buf = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        buf += c
        let i
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i)
          buf = buf.slice(i + 1)
          if (line.startsWith('result ') || line.startsWith('error ')) last = line
          else console.log(`  ${line}`)
        }
      })
      res.on('end', () => done())
      res.on('error', fail)
    })
    req.on('error', fail)
    req.end()
  })
  if (last === '') throw cliError('CLI_USAGE', 'the cell ended the division without a result: see its log (<state>/cell.log)')
  if (last.startsWith('error ')) {
    const e = JSON.parse(last.slice(6)) as { code: string, message: string, hint: string }
    throw new OrganismError(e.code, e.message, e.hint)
  }
  const r = JSON.parse(last.slice(7)) as { cell: string, ms: number, move: { fn: string, bytes: number, via?: string }, imprint: { bytes: number }, timings: Record<string, number> }
  console.log(`divided: ${r.cell} serves ${r.move.fn} (${r.ms} ms; copied ${(r.imprint.bytes / 1024 / 1024).toFixed(1)} MB, moved ${r.move.bytes} bytes of data${r.move.via != null ? ` via ${r.move.via}` : ''})`)
  console.log(`steps: ${Object.entries(r.timings).map(([k, v]) => `${k} ${v} ms`).join(', ')}`)
  return 0
}
