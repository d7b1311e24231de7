// The `functions:` section of organism.yaml: each function's fields, defaults, and clashes between functions.
import { join } from 'node:path'
import type { FunctionSpec, InstanceSpec } from './types.ts'
import { describe, find, readBoolean, readInteger, readMap, readString, report, scalar, type Entry, type WalkContext } from './yaml-walk.ts'
import { NAME_RE, readDnsName, readLimit, readRelativePath, type ExistsCheck } from './fields.ts'

export const FUNCTION_FIELDS = ['code', 'setup', 'start', 'port', 'health', 'stateful', 'replicas', 'durability', 'domain', 'path', 'env', 'dns', 'max_data', 'stateless', 'instances', 'max_instances', 'scale_in_after'] as const
export const DNS_MODES = ['owner', 'all-cells'] as const
/** The cell sets these for every function; letting the genome override them would break routing or data moves. */
export const RESERVED_ENV = ['PORT', 'DATA_DIR'] as const
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/
const PATH_SEGMENT_RE = /^[A-Za-z0-9._~-]+$/

export interface FunctionsInput {
  /** null when the zone itself was invalid: default domains are then not checked. */
  readonly zone: string | null
  readonly root: string
  readonly exists: ExistsCheck
  /** Ports taken by the cell itself (router, dns). */
  readonly reservedPorts: ReadonlyArray<{ port: number, owner: string }>
}

function readHealth (ctx: WalkContext, e: Entry | undefined): string {
  if (e == null) return '/health'
  const v = scalar(e)
  if (typeof v === 'string' && v.startsWith('/') && !/\s/.test(v)) return v
  report(ctx, e.valueAt, e.field, 'an HTTP path starting with "/" (e.g. /health)', describe(e.value))
  return '/health'
}

function readPathPrefix (ctx: WalkContext, e: Entry | undefined): string | null {
  if (e == null) return null
  const v = scalar(e)
  if (typeof v === 'string' && v.startsWith('/') && v.length > 1) {
    const segments = v.slice(1).split('/')
    if (segments.every(s => PATH_SEGMENT_RE.test(s) && s !== '.' && s !== '..')) return v
  }
  report(ctx, e.valueAt, e.field, 'a path prefix like "/api" ("/" then segments of letters, digits, . _ ~ -, no trailing "/")', describe(e.value))
  return null
}

/** One of a few words, or the default when the field is absent. */
export function readChoice<T extends string> (ctx: WalkContext, e: Entry | undefined, fallback: T, choices: readonly T[], expected: string): T | null {
  if (e == null) return fallback
  const v = scalar(e)
  if (typeof v === 'string' && (choices as readonly string[]).includes(v)) return v as T
  report(ctx, e.valueAt, e.field, expected, describe(e.value))
  return null
}

function readEnv (ctx: WalkContext, e: Entry | undefined): Record<string, string> {
  const env: Record<string, string> = {}
  if (e == null) return env
  for (const item of readMap(ctx, e.value, e.field, e.valueAt, null) ?? []) {
    if (!ENV_NAME_RE.test(item.key)) {
      report(ctx, item.keyAt, item.field, 'a variable name of letters, digits and "_", not starting with a digit', `"${item.key}"`)
      continue
    }
    if ((RESERVED_ENV as readonly string[]).includes(item.key)) {
      report(ctx, item.keyAt, item.field, `a name other than ${RESERVED_ENV.join(' and ')} (the cell sets those)`, `"${item.key}"`)
      continue
    }
    const v = scalar(item)
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') env[item.key] = String(v)
    else report(ctx, item.valueAt, item.field, 'a string, number or boolean', describe(item.value))
  }
  return env
}

/** The most cells one function may run on (a bound on the work every router does per request to pick one). */
export const MAX_INSTANCES = 64
/** `stateless: true` or `instances: auto` without a count: two cells, so that one dying costs no request. */
const AUTO_MIN = 2
const SCALE_IN_AFTER_MS = 10 * 60_000

/**
 * `stateless`, `instances` and `max_instances` together: null for one owner (the default, and every stateful
 * function), else how many cells run it. `instances: 1` keeps one owner (moved, taken over) even when stateless.
 */
function readInstances (ctx: WalkContext, get: (k: string) => Entry | undefined, stateful: boolean | null): InstanceSpec | null {
  const statelessEntry = get('stateless')
  const stateless = statelessEntry == null ? null : readBoolean(ctx, statelessEntry)
  const countEntry = get('instances')
  const maxEntry = get('max_instances')
  const quietEntry = get('scale_in_after')
  if (statelessEntry == null && countEntry == null && maxEntry == null && quietEntry == null) return null
  const at = statelessEntry ?? countEntry ?? maxEntry ?? quietEntry as Entry
  if (stateful === true) {
    report(ctx, at.valueAt, at.field, 'no instances for a stateful function (its data has one writer: its owner); drop "stateful: true" if it keeps no data', describe(at.value))
    return null
  }
  if (stateless === false && countEntry != null) report(ctx, statelessEntry?.valueAt ?? at.valueAt, statelessEntry?.field ?? at.field, 'stateless: true (or no "stateless:") for a function with instances', 'false')
  const max = maxEntry == null ? MAX_INSTANCES : readInteger(ctx, maxEntry, 1, MAX_INSTANCES, `a number of cells from 1 to ${MAX_INSTANCES}`)
  const scaleInAfterMs = quietEntry == null ? SCALE_IN_AFTER_MS : readLimit(ctx, quietEntry, 'duration')
  if (max == null || scaleInAfterMs == null) return null
  if (countEntry == null || scalar(countEntry) === 'auto') {
    if (stateless === false && countEntry == null) return null
    return { min: Math.min(AUTO_MIN, max), max, scaleInAfterMs }
  }
  const n = readInteger(ctx, countEntry, 1, MAX_INSTANCES, `"auto" or a number of cells from 1 to ${MAX_INSTANCES}`)
  if (n == null) return null
  for (const extra of [maxEntry, quietEntry]) if (extra != null) report(ctx, extra.valueAt, extra.field, `${extra.field.split('.').at(-1) ?? ''} only with "instances: auto" (a number of instances is exact)`, describe(extra.value))
  return n === 1 ? null : { min: n, max: n, scaleInAfterMs }
}

interface Reading {
  /** Complete only when every field was valid. */
  readonly spec: FunctionSpec | null
  /** Known even when other fields are bad, so that clashes are reported in the same pass. */
  readonly port: number | null
  readonly portAt: number
  readonly route: string | null
  readonly routeAt: number
}

function readFunction (ctx: WalkContext, name: string, e: Entry, input: FunctionsInput): Reading | null {
  const fields = readMap(ctx, e.value, e.field, e.valueAt, FUNCTION_FIELDS, 'a map of function fields (start, code, port, ...)')
  if (fields == null) return null
  const get = (k: string): Entry | undefined => find(fields, k)
  const before = ctx.problems.length

  const codeEntry = get('code')
  const code = codeEntry == null ? `functions/${name}` : readRelativePath(ctx, codeEntry, 'the function\'s code directory')
  if (code != null && input.exists != null && !input.exists(code, 'dir')) {
    const at = codeEntry?.valueAt ?? e.keyAt
    const field = codeEntry?.field ?? `${e.field}.code`
    report(ctx, at, field, 'an existing directory in the genome', `no directory at ${code}`)
  }
  const startEntry = get('start')
  if (startEntry == null) report(ctx, e.keyAt, `${e.field}.start`, 'a "start:" command', 'none', 'required field missing; expected a "start:" command, found none')
  const start = startEntry == null ? null : readString(ctx, startEntry, 'a shell command (string)')
  const setupEntry = get('setup')
  const setup = setupEntry == null ? null : readString(ctx, setupEntry, 'a shell command (string)')
  const portEntry = get('port')
  const port = portEntry == null ? null : readInteger(ctx, portEntry, 1, 65535, 'an integer port from 1 to 65535')
  const health = readHealth(ctx, get('health'))
  const statefulEntry = get('stateful')
  const stateful = statefulEntry == null ? false : readBoolean(ctx, statefulEntry)
  // Copies of the data: 2 for a stateful function (the owner's and one replica's), 1 (none kept) otherwise.
  const replicasEntry = get('replicas')
  const replicas = replicasEntry == null ? (stateful === true ? 2 : 1) : readInteger(ctx, replicasEntry, 1, 2, 'the number of copies of the data: 1 (the owner\'s only) or 2 (the owner\'s and one replica)')
  if (replicas === 2 && stateful === false && replicasEntry != null) report(ctx, replicasEntry.valueAt, replicasEntry.field, 'replicas: 1 for a function that is not stateful (it has no data to copy)', '2')
  const durability = readChoice(ctx, get('durability'), 'sync', ['sync', 'async'], '"sync" (a write is answered once it is on the replica) or "async" (answered at once, copied within a second)')
  const domainEntry = get('domain')
  const domain = domainEntry == null ? (input.zone == null ? null : `${name}.${input.zone}`) : readDnsName(ctx, domainEntry)
  const pathPrefix = readPathPrefix(ctx, get('path'))
  const env = readEnv(ctx, get('env'))
  // The most a data dir of this function may hold when it arrives by a move (a receiver refuses a bigger one).
  const maxData = readLimit(ctx, get('max_data'), 'size')
  const instances = readInstances(ctx, get, stateful)
  const dns = readChoice(ctx, get('dns'), 'owner', ['owner', 'all-cells'], '"owner" (its owner\'s address) or "all-cells" (every live cell\'s; any cell forwards)')

  const complete = ctx.problems.length === before && start != null && code != null && domain != null && stateful != null && dns != null && replicas != null && durability != null
  return {
    spec: complete ? { name, code, codeDir: join(input.root, code), setup, start, port, health, stateful, replicas: replicas as 1 | 2, durability: durability as FunctionSpec['durability'], domain, pathPrefix, env, dns: dns as FunctionSpec['dns'], maxDataBytes: maxData, ...instances != null ? { instances } : {} } : null,
    port,
    portAt: portEntry?.valueAt ?? e.keyAt,
    route: domain == null ? null : `${domain}${pathPrefix ?? ''}`,
    routeAt: domainEntry?.valueAt ?? get('path')?.valueAt ?? e.keyAt
  }
}

/** All functions in file order; clashes (same port, same domain+path) are reported at the later one. */
export function readFunctions (ctx: WalkContext, e: Entry, input: FunctionsInput): FunctionSpec[] {
  const entries = readMap(ctx, e.value, e.field, e.valueAt, null, 'a map of functions (name: { start: ... })')
  if (entries == null) return []
  if (entries.length === 0 && ctx.problems.every(p => !p.field.startsWith('functions.'))) {
    report(ctx, e.valueAt, e.field, 'at least one function', 'an empty map')
    return []
  }
  const ports = new Map<number, string>(input.reservedPorts.map(r => [r.port, r.owner]))
  const routes = new Map<string, string>()
  const out: FunctionSpec[] = []
  for (const f of entries) {
    if (!NAME_RE.test(f.key) || f.key.length > 63) {
      report(ctx, f.keyAt, f.field, 'a function name of lower-case letters, digits and "-", starting with a letter', `"${f.key}"`)
      continue
    }
    const r = readFunction(ctx, f.key, f, input)
    if (r == null) continue
    if (r.port != null) {
      const owner = ports.get(r.port)
      if (owner != null) {
        report(ctx, r.portAt, `${f.field}.port`, `a port not used by ${owner}`, `the number ${r.port}`,
          `port ${r.port} clashes with ${owner}; expected a port not used by ${owner}, found the number ${r.port}`)
      } else ports.set(r.port, `${f.field}.port`)
    }
    if (r.route != null) {
      const other = routes.get(r.route)
      if (other != null) {
        report(ctx, r.routeAt, `${f.field}.domain`, `a domain and path not used by function "${other}"`, `"${r.route}"`,
          `domain and path "${r.route}" already routed to function "${other}"; expected a domain and path not used by function "${other}", found "${r.route}"`)
      } else routes.set(r.route, f.key)
    }
    if (r.spec != null) out.push(r.spec)
  }
  return out
}
