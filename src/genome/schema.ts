// The organism.yaml format: top-level fields, router/dns ports and division limits, validated into a Genome.
/*
 * organism.yaml, as settled:
 *
 *   organism: campus            # required; [a-z][a-z0-9-]*, at most 63 characters
 *   zone: campus.test           # required; DNS name, lower-cased, trailing dot dropped
 *   router: { port: 8080 }      # optional; port 1..65535
 *   dns: { port: 5353 }         # optional; port 1..65535
 *   hosts: pool.yaml            # optional; relative path inside the genome (a file, checked when checkFiles)
 *   functions:                  # required, at least one; names [a-z][a-z0-9-]*, at most 63 characters
 *     catalog:
 *       code: functions/catalog # default functions/<name>; relative, inside the genome; a directory (checked when checkFiles)
 *       setup: npm ci           # optional shell command
 *       start: node server.js   # required shell command; the process must listen on $PORT
 *       port: 9001              # optional fixed port 1..65535; must not clash with another function, router.port or dns.port
 *       health: /health         # default /health; starts with "/", no spaces
 *       stateful: true          # default false
 *       replicas: 2             # copies of $DATA_DIR: default 2 when stateful (owner + one replica), else 1
 *       durability: sync        # sync (default): a write is answered once on the replica; async: within ~1 s
 *       domain: catalog.campus.test  # default <name>.<zone>; any valid DNS name, lower-cased
 *       path: /api              # optional prefix: "/" + segments of [A-Za-z0-9._~-], no trailing "/", no "." or ".." segments
 *       env: { KEY: value }     # names [A-Za-z_][A-Za-z0-9_]*; scalar values become strings; PORT and DATA_DIR are reserved
 *   division:                   # optional; every limit must be > 0
 *     requests_per_second: 200  # number
 *     distinct_users: 1000      # integer
 *     data_bytes: 1GB           # integer bytes or "<number><unit>", unit B KB MB GB TB (powers of 1000) KiB MiB GiB TiB (of 1024)
 *     cpu: 0.8                  # cores, number
 *     memory: 512MiB            # like data_bytes
 *     window: 60s               # "<number><unit>", unit ms s m h; default 60s
 *     cooldown: 10m             # same; default 10m
 *   moves:                      # optional
 *     live: true                # copy the data while the function serves (default); false: stop, copy, start
 *     hold_max: 5s              # a live move holding requests longer is called off; default 5s
 *   update:                     # optional: how a signed update rolls out (cell update)
 *     waves: 2                  # groups of cells after the canary, one after the other
 *     bake: 30s                 # how long each cell stays healthy on it before the next wave
 *     max_5xx: 1%               # more 5xx than this share of a cell's requests in the bake reverts the update
 *   immune:                     # optional: what the organism does with a cell whose files are not what was signed
 *     replace_after: 10m        # a cell quarantined this long is replaced by a free pool host (default 10m; never: not replaced)
 *
 * Unknown fields and duplicate keys are errors (with a did-you-mean when a known name is close).
 * Two functions with the same domain and path are an error.
 */
import { isMap } from 'yaml'
import type { DivisionLimits, FunctionSpec, Genome, ImmunePolicy, MovePolicy, UpdatePolicy } from './types.ts'
import { DEFAULT_IMMUNE, DEFAULT_UPDATE } from './types.ts'
import { describe, find, readInteger, readMap, report, scalar, type Entry, type WalkContext } from './yaml-walk.ts'
import { readDnsName, readLimit, readName, readRelativePath, type ExistsCheck } from './fields.ts'
import { readChoice, readFunctions } from './schema-functions.ts'

export const TOP_FIELDS = ['organism', 'zone', 'router', 'dns', 'peers', 'functions', 'division', 'hosts', 'map', 'moves', 'update', 'immune'] as const
export const DIVISION_FIELDS = ['requests_per_second', 'distinct_users', 'data_bytes', 'cpu', 'memory', 'window', 'cooldown'] as const
const PORT_EXPECTED = 'an integer port from 1 to 65535'

export interface SchemaInput {
  readonly root: string
  readonly commit: string | null
  readonly exists: ExistsCheck
}

function readPortBlock (ctx: WalkContext, e: Entry | undefined): { port: number | null, at: number, field: string } {
  if (e == null) return { port: null, at: 0, field: '' }
  const entries = readMap(ctx, e.value, e.field, e.valueAt, ['port'], 'a map like { port: 8080 }')
  const p = find(entries, 'port')
  const port = p == null ? null : readInteger(ctx, p, 1, 65535, PORT_EXPECTED)
  return { port, at: p?.valueAt ?? e.valueAt, field: p?.field ?? e.field }
}


/** `map: { details: local | all }`: who sees peer ids and ports on the live map (default: viewers on the cell's host). */
function readMapDetails (ctx: WalkContext, e: Entry | undefined): 'local' | 'all' {
  if (e == null) return 'local'
  const entries = readMap(ctx, e.value, e.field, e.valueAt, ['details'], 'a map like { details: local }')
  return readChoice(ctx, find(entries, 'details'), 'local', ['local', 'all'], '"local" (peer ids and ports only for viewers on the cell\'s own host) or "all"') ?? 'local'
}

/**
 * `moves: { live: true, hold_max: 5s }`: a move copies the data while the function serves and holds requests only for
 * the changes and the start (live: false moves cold); a hold longer than hold_max calls the move off.
 */
function readMoves (ctx: WalkContext, e: Entry | undefined): MovePolicy {
  if (e == null) return { live: true, holdMaxMs: 5000 }
  const entries = readMap(ctx, e.value, e.field, e.valueAt, ['live', 'hold_max'], 'a map like { live: true, hold_max: 5s }')
  const live = find(entries, 'live')
  if (live != null && typeof scalar(live) !== 'boolean') report(ctx, live.valueAt, live.field, 'true or false', describe(live.value))
  return { live: live == null || scalar(live) !== false, holdMaxMs: readLimit(ctx, find(entries, 'hold_max'), 'duration') ?? 5000 }
}

/** `update: { waves: 2, bake: 30s, max_5xx: 1% }`: how a signed update rolls out (genome/types.ts UpdatePolicy). */
function readUpdate (ctx: WalkContext, e: Entry | undefined): UpdatePolicy | undefined {
  if (e == null) return undefined
  const entries = readMap(ctx, e.value, e.field, e.valueAt, ['waves', 'bake', 'max_5xx'], 'a map like { waves: 2, bake: 30s, max_5xx: 1% }') ?? []
  const wavesEntry = find(entries, 'waves')
  const waves = wavesEntry == null ? DEFAULT_UPDATE.waves : readInteger(ctx, wavesEntry, 1, 100, 'a number of waves from 1 to 100')
  const maxEntry = find(entries, 'max_5xx')
  let max5xx = DEFAULT_UPDATE.max5xx
  if (maxEntry != null) {
    const v = scalar(maxEntry)
    const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)\s*%$/.exec(v.trim()) : null
    if (m != null && Number(m[1]) <= 100) max5xx = Number(m[1]) / 100
    else report(ctx, maxEntry.valueAt, maxEntry.field, 'a share of requests like 1% (0% to 100%)', describe(maxEntry.value))
  }
  return { waves: waves ?? DEFAULT_UPDATE.waves, bakeMs: readLimit(ctx, find(entries, 'bake'), 'duration') ?? DEFAULT_UPDATE.bakeMs, max5xx }
}

/** `immune: { replace_after: 10m }`: how long a quarantined cell stays before a pool host takes its place (`never`: it stays). */
function readImmune (ctx: WalkContext, e: Entry | undefined): ImmunePolicy {
  if (e == null) return DEFAULT_IMMUNE
  const entries = readMap(ctx, e.value, e.field, e.valueAt, ['replace_after'], 'a map like { replace_after: 10m }') ?? []
  const after = find(entries, 'replace_after')
  if (after == null) return DEFAULT_IMMUNE
  if (scalar(after) === 'never') return { replaceAfterMs: null }
  // Read on the side, so that the problem names both spellings a user may mean.
  const probe: WalkContext = { ...ctx, problems: [] }
  const ms = readLimit(probe, after, 'duration')
  if (ms == null) report(ctx, after.valueAt, after.field, 'a duration greater than 0 (e.g. 10m) or never', describe(after.value))
  return { replaceAfterMs: ms ?? DEFAULT_IMMUNE.replaceAfterMs }
}

function readDivision (ctx: WalkContext, e: Entry | undefined): DivisionLimits {
  const entries = e == null ? [] : readMap(ctx, e.value, e.field, e.valueAt, DIVISION_FIELDS)
  const get = (k: string): Entry | undefined => find(entries, k)
  return {
    requestsPerSecond: readLimit(ctx, get('requests_per_second'), 'number'),
    distinctUsers: readLimit(ctx, get('distinct_users'), 'integer'),
    dataBytes: readLimit(ctx, get('data_bytes'), 'size'),
    cpu: readLimit(ctx, get('cpu'), 'number'),
    memoryBytes: readLimit(ctx, get('memory'), 'size'),
    windowMs: readLimit(ctx, get('window'), 'duration') ?? 60_000,
    cooldownMs: readLimit(ctx, get('cooldown'), 'duration') ?? 600_000
  }
}

/** Validates the document's root node; returns a Genome only when no problem was recorded. */
export function buildGenome (ctx: WalkContext, rootNode: unknown, input: SchemaInput): Genome | null {
  if (rootNode == null || !isMap(rootNode)) {
    report(ctx, 0, '(top)', 'a map with organism, zone and functions', describe(rootNode))
    return null
  }
  const top = readMap(ctx, rootNode, '', 0, TOP_FIELDS) ?? []
  const required = (k: string): Entry | undefined => {
    const e = find(top, k)
    if (e == null) report(ctx, 0, k, `a "${k}:" field`, 'none', `required field missing; expected a "${k}:" field, found none`)
    return e
  }
  const organismEntry = required('organism')
  const zoneEntry = required('zone')
  const functionsEntry = required('functions')
  const organism = organismEntry == null ? null : readName(ctx, organismEntry)
  const zone = zoneEntry == null ? null : readDnsName(ctx, zoneEntry)
  const router = readPortBlock(ctx, find(top, 'router'))
  const dns = readPortBlock(ctx, find(top, 'dns'))
  const peers = readPortBlock(ctx, find(top, 'peers'))
  if (router.port != null && router.port === dns.port) {
    report(ctx, dns.at, dns.field, 'a port other than router.port', `the number ${dns.port}`, `port ${dns.port} clashes with router.port; expected a port other than router.port, found the number ${dns.port}`)
  }
  // DNS is UDP and TCP; the peer port is TCP only, like the router's.
  for (const [other, port] of [['router.port', router.port], ['dns.port', dns.port]] as const) {
    if (peers.port != null && peers.port === port) {
      report(ctx, peers.at, peers.field, `a port other than ${other}`, `the number ${peers.port}`, `port ${peers.port} clashes with ${other}; expected a port other than ${other}, found the number ${peers.port}`)
    }
  }
  const hostsEntry = find(top, 'hosts')
  let hostPool: string | null = null
  if (hostsEntry != null) {
    hostPool = readRelativePath(ctx, hostsEntry, 'a host pool file')
    if (hostPool != null && input.exists != null && !input.exists(hostPool, 'file')) {
      report(ctx, hostsEntry.valueAt, hostsEntry.field, 'an existing file in the genome', `no file at ${hostPool}`)
    }
  }
  const reserved = [
    ...(router.port != null ? [{ port: router.port, owner: 'router.port' }] : []),
    ...(dns.port != null ? [{ port: dns.port, owner: 'dns.port' }] : []),
    ...(peers.port != null ? [{ port: peers.port, owner: 'peers.port' }] : [])
  ]
  const functions = functionsEntry == null ? [] : readFunctions(ctx, functionsEntry, { zone, root: input.root, exists: input.exists, reservedPorts: reserved })
  const division = readDivision(ctx, find(top, 'division'))
  const mapDetails = readMapDetails(ctx, find(top, 'map'))
  const moves = readMoves(ctx, find(top, 'moves'))
  const update = readUpdate(ctx, find(top, 'update'))
  const immune = readImmune(ctx, find(top, 'immune'))
  if (ctx.problems.length > 0 || organism == null || zone == null) return null
  return {
    organism,
    zone,
    routerPort: router.port,
    dnsPort: dns.port,
    peerPort: peers.port,
    functions: functions as FunctionSpec[],
    division,
    mapDetails,
    moves,
    ...update != null ? { update } : {},
    immune,
    hostPool,
    root: input.root,
    commit: input.commit
  }
}
