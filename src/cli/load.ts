// `npm run load -- FN --rps N …`: argv -> a target (from the cell's state dir or flags) -> runLoad, one line a second.
import { parseArgs } from 'node:util'
import { cellPaths, defaultStateDir } from '../cell/paths.ts'
import { callCell, findCell } from './client.ts'
import { formatError } from '../core/errors.ts'
import { divideError, formatReport, mostlyFailed, runLoad, MAX_RPS, MAX_SECONDS } from '../divide/index.ts'
import type { LoadOptions } from '../divide/index.ts'

export interface LoadTarget { router: URL, host: string }

export type LoadArgs = Omit<LoadOptions, 'router' | 'host' | 'signal' | 'onTick'> & { fn: string, cell: string | null, routerUrl: string | null, host: string | null }

export function parseLoadArgs (argv: readonly string[]): LoadArgs {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        rps: { type: 'string' }, seconds: { type: 'string' }, users: { type: 'string' }, path: { type: 'string' },
        cell: { type: 'string' }, router: { type: 'string' }, host: { type: 'string' }, 'max-in-flight': { type: 'string' }
      }
    })
  } catch (cause) {
    throw divideError('DIVIDE_LOAD_USAGE', (cause as Error).message, { cause })
  }
  const { values, positionals } = parsed
  if (positionals.length !== 1) throw divideError('DIVIDE_LOAD_USAGE', 'name exactly one function to load')
  const number = (name: string, raw: string | undefined, dflt: number | null, min: number, max: number): number => {
    if (raw == null) {
      if (dflt == null) throw divideError('DIVIDE_LOAD_USAGE', `--${name} is required`)
      return dflt
    }
    const n = Number(raw)
    if (!Number.isFinite(n) || n < min || n > max) throw divideError('DIVIDE_LOAD_USAGE', `--${name} must be a number from ${min} to ${max}, not ${raw}`)
    return n
  }
  const path = values.path ?? '/'
  if (!path.startsWith('/')) throw divideError('DIVIDE_LOAD_USAGE', `--path must start with "/", not ${path}`)
  return {
    fn: positionals[0],
    rps: number('rps', values.rps, null, 0.1, MAX_RPS),
    seconds: number('seconds', values.seconds, 30, 0.1, MAX_SECONDS),
    users: Math.floor(number('users', values.users, 1, 0, 10_000_000)),
    maxInFlight: Math.floor(number('max-in-flight', values['max-in-flight'], 256, 1, 4096)),
    path,
    cell: values.cell ?? null,
    routerUrl: values.router ?? null,
    host: values.host ?? null
  }
}

/** Where to send: an explicit router URL, else the cell's router on 127.0.0.1; the Host is the function's domain. */
export async function resolveTarget (args: LoadArgs): Promise<LoadTarget> {
  let router: URL | null = null
  if (args.routerUrl != null) {
    try { router = new URL(args.routerUrl) } catch (cause) { throw divideError('DIVIDE_LOAD_BAD_ROUTER', `not a URL: ${args.routerUrl}`, { cause }) }
    if (router.protocol !== 'http:') throw divideError('DIVIDE_LOAD_BAD_ROUTER', `only http routers are supported, not ${router.protocol}`)
  }
  if (router != null && args.host != null) return { router, host: args.host }
  // Ask the cell: its cell.json gives the router port and API token, its status gives the function's domain.
  const addr = await findCell(cellPaths(args.cell ?? defaultStateDir()))
  router ??= new URL(`http://127.0.0.1:${addr.routerPort}`)
  if (args.host != null) return { router, host: args.host }
  const res = await callCell(addr, 'GET', '/status')
  const status = JSON.parse(res.body) as { zone: string, functions: Array<{ name: string, domain?: string }> }
  const fn = status.functions.find((f) => f.name === args.fn)
  if (fn == null) {
    throw divideError('DIVIDE_LOAD_UNKNOWN_FUNCTION', `the organism has no function ${args.fn} (it has: ${status.functions.map((f) => f.name).join(', ')})`)
  }
  return { router, host: fn.domain ?? `${fn.name}.${status.zone}` }
}

export async function loadMain (argv: readonly string[], out: (line: string) => void = console.log): Promise<number> {
  try {
    const args = parseLoadArgs(argv)
    const target = await resolveTarget(args)
    out(`loading ${args.fn} (Host: ${target.host}) through ${target.router.origin}: ${args.rps} req/s for ${args.seconds} s, ${args.users} users`)
    const ac = new AbortController()
    const onSignal = (): void => ac.abort()
    process.once('SIGINT', onSignal)
    const report = await runLoad({ ...args, ...target, signal: ac.signal, onTick: (r) => out(formatReport(r)) })
      .finally(() => process.off('SIGINT', onSignal))
    out(`done: ${formatReport(report)}`)
    if (mostlyFailed(report)) throw divideError('DIVIDE_LOAD_FAILED', `${report.ok} of ${report.sent + report.skipped} requests succeeded`)
    return 0
  } catch (err) {
    console.error(formatError(err))
    return 1
  }
}
