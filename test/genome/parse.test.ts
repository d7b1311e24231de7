// organism.yaml parsing: a valid genome with its defaults, and a table of broken ones with their exact positions.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseGenome, readGenome, type Problem } from '../../src/genome/index.ts'
import { isOrganismError, type OrganismError } from '../../src/core/errors.ts'

const FILE = 'organism.yaml'
const ROOT = '/srv/genome'

/** A genome whose line 5 onwards are fields of function "web" (indented 4). */
function web (...fields: string[]): string {
  return ['organism: campus', 'zone: campus.test', 'functions:', '  web:', ...fields.map(f => `    ${f}`)].join('\n') + '\n'
}

function errorOf (text: string, opts: { checkFiles?: boolean, root?: string } = {}): OrganismError {
  try {
    parseGenome(text, { file: FILE, root: opts.root ?? ROOT, checkFiles: opts.checkFiles })
  } catch (err) {
    if (isOrganismError(err)) return err
    throw err
  }
  assert.fail('expected parseGenome to throw')
}

test('a valid genome parses with defaults applied', () => {
  const text = [
    'organism: campus',
    'zone: Campus.Test.',
    'router: { port: 8080 }',
    'dns: { port: 5353 }',
    'peers: { port: 4001 }',
    'hosts: pool.yaml',
    'map: { details: all }',
    'functions:',
    '  catalog:',
    '    code: functions/catalog',
    '    setup: npm install --omit=dev',
    '    start: node server.js',
    '    port: 9001',
    '    stateful: true',
    '    domain: Catalog.Campus.Test',
    '    path: /api',
    '    env: { MODE: prod, WORKERS: 4, DEBUG: false }',
    '    max_data: 2GiB',
    '  web:',
    '    start: node web.js',
    '    health: /ready',
    '    dns: all-cells',
    'division:',
    '  requests_per_second: 200',
    '  distinct_users: 1000',
    '  data_bytes: 1GB',
    '  cpu: 0.8',
    '  memory: 512MiB',
    '  window: 90s',
    '  cooldown: 10m',
    'moves: { live: true, hold_max: 750ms }'
  ].join('\n')
  const g = parseGenome(text, { file: FILE, root: ROOT, commit: 'abc' })
  assert.deepEqual(g, {
    organism: 'campus',
    zone: 'campus.test',
    routerPort: 8080,
    dnsPort: 5353,
    peerPort: 4001,
    hostPool: 'pool.yaml',
    immune: { replaceAfterMs: 600_000 },
    mapDetails: 'all',
    moves: { live: true, holdMaxMs: 750 },
    root: ROOT,
    commit: 'abc',
    functions: [
      {
        name: 'catalog', code: 'functions/catalog', codeDir: '/srv/genome/functions/catalog', setup: 'npm install --omit=dev',
        start: 'node server.js', port: 9001, health: '/health', stateful: true, replicas: 2, durability: 'sync', domain: 'catalog.campus.test', pathPrefix: '/api',
        env: { MODE: 'prod', WORKERS: '4', DEBUG: 'false' }, dns: 'owner', maxDataBytes: 2 * 1024 ** 3
      },
      {
        name: 'web', code: 'functions/web', codeDir: '/srv/genome/functions/web', setup: null, start: 'node web.js', port: null,
        health: '/ready', stateful: false, replicas: 1, durability: 'sync', domain: 'web.campus.test', pathPrefix: null, env: {}, dns: 'all-cells', maxDataBytes: null
      }
    ],
    division: {
      requestsPerSecond: 200, distinctUsers: 1000, dataBytes: 1_000_000_000, cpu: 0.8, memoryBytes: 512 * 1024 * 1024,
      windowMs: 90_000, cooldownMs: 600_000
    }
  })
})

test('division limits are optional; window and cooldown default to 60s and 10m', () => {
  const g = parseGenome(web('start: node s.js'), { file: FILE, root: ROOT })
  assert.deepEqual(g.division, { requestsPerSecond: null, distinctUsers: null, dataBytes: null, cpu: null, memoryBytes: null, windowMs: 60_000, cooldownMs: 600_000 })
  assert.equal(g.commit, null)
})

test('two functions may share a domain when their paths differ', () => {
  const text = web('start: a', 'path: /api') + '  site:\n    start: b\n    domain: web.campus.test\n'
  const g = parseGenome(text, { file: FILE, root: ROOT })
  assert.deepEqual(g.functions.map(f => [f.domain, f.pathPrefix]), [['web.campus.test', '/api'], ['web.campus.test', null]])
})

interface BadCase { name: string, text: string, field: string, line: number, column: number, says?: string }

const bad: BadCase[] = [
  { name: 'organism name with capitals', text: 'organism: Campus\nzone: c.test\nfunctions:\n  web: { start: a }\n', field: 'organism', line: 1, column: 11 },
  { name: 'organism name starting with a digit', text: 'organism: 1campus\nzone: c.test\nfunctions:\n  web: { start: a }\n', field: 'organism', line: 1, column: 11 },
  { name: 'zone with an underscore', text: 'organism: c\nzone: campus_test\nfunctions:\n  web: { start: a }\n', field: 'zone', line: 2, column: 7 },
  { name: 'zone that is a number', text: 'organism: c\nzone: 42\nfunctions:\n  web: { start: a }\n', field: 'zone', line: 2, column: 7, says: 'found the number 42' },
  { name: 'organism missing', text: 'zone: c.test\nfunctions:\n  web: { start: a }\n', field: 'organism', line: 1, column: 1, says: 'required field missing' },
  { name: 'empty functions map', text: 'organism: c\nzone: c.test\nfunctions: {}\n', field: 'functions', line: 3, column: 12, says: 'found an empty map' },
  { name: 'functions as a list', text: 'organism: c\nzone: c.test\nfunctions:\n  - web\n', field: 'functions', line: 4, column: 3, says: 'found a list' },
  { name: 'function name with underscore', text: 'organism: c\nzone: c.test\nfunctions:\n  my_fn: { start: a }\n', field: 'functions.my_fn', line: 4, column: 3 },
  { name: 'start missing', text: web('port: 9001'), field: 'functions.web.start', line: 4, column: 3, says: 'required field missing' },
  { name: 'start is a list', text: web('start: [node, s.js]'), field: 'functions.web.start', line: 5, column: 12, says: 'found a list' },
  { name: 'port above 65535', text: web('start: a', 'port: 70000'), field: 'functions.web.port', line: 6, column: 11, says: 'found the number 70000' },
  { name: 'port as a string', text: web('start: a', 'port: "9001"'), field: 'functions.web.port', line: 6, column: 11, says: 'found "9001"' },
  { name: 'port zero', text: web('start: a', 'port: 0'), field: 'functions.web.port', line: 6, column: 11 },
  { name: 'two functions on one port', text: web('start: a', 'port: 9001') + '  api:\n    start: b\n    port: 9001\n', field: 'functions.api.port', line: 9, column: 11, says: 'clashes with functions.web.port' },
  { name: 'function port equal to router port', text: 'organism: c\nzone: c.test\nrouter: { port: 8080 }\nfunctions:\n  web:\n    start: a\n    port: 8080\n', field: 'functions.web.port', line: 7, column: 11, says: 'clashes with router.port' },
  { name: 'peer port equal to router port', text: 'organism: c\nzone: c.test\nrouter: { port: 8080 }\npeers: { port: 8080 }\nfunctions:\n  web: { start: a }\n', field: 'peers.port', line: 4, column: 16, says: 'clashes with router.port' },
  { name: 'function port equal to the peer port', text: 'organism: c\nzone: c.test\npeers: { port: 4001 }\nfunctions:\n  web:\n    start: a\n    port: 4001\n', field: 'functions.web.port', line: 7, column: 11, says: 'clashes with peers.port' },
  { name: 'peer port above 65535', text: 'organism: c\nzone: c.test\npeers: { port: 65536 }\nfunctions:\n  web: { start: a }\n', field: 'peers.port', line: 3, column: 16, says: 'found the number 65536' },
  { name: 'map details "everyone"', text: 'organism: c\nzone: c.test\nmap: { details: everyone }\nfunctions:\n  web: { start: a }\n', field: 'map.details', line: 3, column: 17, says: 'expected "local"' },
  { name: 'router port not a number', text: 'organism: c\nzone: c.test\nrouter: { port: http }\nfunctions:\n  web: { start: a }\n', field: 'router.port', line: 3, column: 17 },
  { name: 'same domain and path twice', text: web('start: a') + '  other:\n    start: b\n    domain: WEB.campus.test\n', field: 'functions.other.domain', line: 8, column: 13, says: 'already routed to function "web"' },
  { name: 'domain with a space', text: web('start: a', 'domain: "web campus.test"'), field: 'functions.web.domain', line: 6, column: 13 },
  { name: 'health path without slash', text: web('start: a', 'health: health'), field: 'functions.web.health', line: 6, column: 13, says: 'found "health"' },
  { name: 'path prefix without leading slash', text: web('start: a', 'path: api'), field: 'functions.web.path', line: 6, column: 11 },
  { name: 'path prefix with trailing slash', text: web('start: a', 'path: /api/'), field: 'functions.web.path', line: 6, column: 11 },
  { name: 'path prefix with ..', text: web('start: a', 'path: /api/../x'), field: 'functions.web.path', line: 6, column: 11 },
  { name: 'replicas 3', text: web('start: a', 'stateful: true', 'replicas: 3'), field: 'functions.web.replicas', line: 7, column: 15, says: 'expected the number of copies of the data: 1' },
  { name: 'replicas 2 without state', text: web('start: a', 'replicas: 2'), field: 'functions.web.replicas', line: 6, column: 15, says: 'expected replicas: 1 for a function that is not stateful' },
  { name: 'max_data "lots"', text: web('start: a', 'max_data: lots'), field: 'functions.web.max_data', line: 6, column: 15, says: 'expected a size greater than 0' },
  { name: 'instances on a stateful function', text: web('start: a', 'stateful: true', 'instances: 3'), field: 'functions.web.instances', line: 7, column: 16, says: 'expected no instances for a stateful function' },
  { name: 'instances 0', text: web('start: a', 'instances: 0'), field: 'functions.web.instances', line: 6, column: 16, says: 'expected "auto" or a number of cells from 1 to 64' },
  { name: 'instances "many"', text: web('start: a', 'instances: many'), field: 'functions.web.instances', line: 6, column: 16, says: 'found "many"' },
  { name: 'max_instances with a fixed count', text: web('start: a', 'instances: 3', 'max_instances: 5'), field: 'functions.web.max_instances', line: 7, column: 20, says: 'max_instances only with "instances: auto"' },
  { name: 'scale_in_after without a unit', text: web('start: a', 'stateless: true', 'scale_in_after: 10'), field: 'functions.web.scale_in_after', line: 7, column: 21, says: 'expected a duration' },
  { name: 'update waves 0', text: web('start: a') + 'update: { waves: 0 }\n', field: 'update.waves', line: 6, column: 18, says: 'expected a number of waves from 1 to 100' },
  { name: 'update max_5xx as a number', text: web('start: a') + 'update: { max_5xx: 2 }\n', field: 'update.max_5xx', line: 6, column: 20, says: 'expected a share of requests like 1%' },
  { name: 'immune replace_after without a unit', text: web('start: a') + 'immune: { replace_after: 10 }\n', field: 'immune.replace_after', line: 6, column: 26, says: 'expected a duration greater than 0 (e.g. 10m) or never, found the number 10' },
  { name: 'immune replace_after "off"', text: web('start: a') + 'immune: { replace_after: off }\n', field: 'immune.replace_after', line: 6, column: 26, says: 'or never, found "off"' },
  { name: 'immune with an unknown field', text: web('start: a') + 'immune: { heal_after: 1m }\n', field: 'immune.heal_after', line: 6, column: 11 },
  { name: 'stateless false with instances', text: web('start: a', 'stateless: false', 'instances: 2'), field: 'functions.web.stateless', line: 6, column: 16, says: 'expected stateless: true' },
  { name: 'durability "eventual"', text: web('start: a', 'durability: eventual'), field: 'functions.web.durability', line: 6, column: 17, says: 'expected "sync"' },
  { name: 'stateful as "yes"', text: web('start: a', 'stateful: yes'), field: 'functions.web.stateful', line: 6, column: 15, says: 'expected true or false, found "yes"' },
  { name: 'dns mode that is not owner or all-cells', text: web('start: a', 'dns: everyone'), field: 'functions.web.dns', line: 6, column: 10, says: 'found "everyone"' },
  { name: 'env value that is a map', text: web('start: a', 'env:', '  DB: { host: x }'), field: 'functions.web.env.DB', line: 7, column: 11, says: 'found a map' },
  { name: 'env overriding PORT', text: web('start: a', 'env: { PORT: 1 }'), field: 'functions.web.env.PORT', line: 6, column: 12 },
  { name: 'code outside the genome', text: web('start: a', 'code: ../elsewhere'), field: 'functions.web.code', line: 6, column: 11 },
  { name: 'code as an absolute path', text: web('start: a', 'code: /etc'), field: 'functions.web.code', line: 6, column: 11 },
  { name: 'negative requests per second', text: web('start: a') + 'division:\n  requests_per_second: -5\n', field: 'division.requests_per_second', line: 7, column: 24, says: 'found the number -5' },
  { name: 'zero cpu', text: web('start: a') + 'division:\n  cpu: 0\n', field: 'division.cpu', line: 7, column: 8 },
  { name: 'unknown size unit', text: web('start: a') + 'division:\n  memory: 512XB\n', field: 'division.memory', line: 7, column: 11, says: 'unknown unit "XB"' },
  { name: 'duration without unit', text: web('start: a') + 'division:\n  window: 60\n', field: 'division.window', line: 7, column: 11 },
  { name: 'duration with unknown unit', text: web('start: a') + 'division:\n  cooldown: 2d\n', field: 'division.cooldown', line: 7, column: 13, says: 'unknown unit "d"' },
  { name: 'fractional user count', text: web('start: a') + 'division:\n  distinct_users: 10.5\n', field: 'division.distinct_users', line: 7, column: 19 },
  { name: 'division as a list', text: web('start: a') + 'division: [1]\n', field: 'division', line: 6, column: 11, says: 'found a list' },
  { name: 'duplicate key', text: web('start: a', 'port: 9001', 'port: 9002'), field: 'functions.web.port', line: 7, column: 5, says: 'duplicate field (first set on line 6)' },
  { name: 'unknown top-level field', text: web('start: a') + 'zones: x\n', field: 'zones', line: 6, column: 1, says: 'did you mean "zone"?' },
  { name: 'unknown field with no near name', text: web('start: a', 'copies: 3'), field: 'functions.web.copies', line: 6, column: 5, says: 'unknown field; expected one of' },
  { name: 'a list instead of a map', text: '- organism\n- zone\n', field: '(top)', line: 1, column: 1, says: 'found a list' },
  { name: 'an empty file', text: '', field: '(top)', line: 1, column: 1, says: 'found nothing' }
]

test('update: waves, bake and the 5xx share a gate allows; absent when the genome does not say', () => {
  const g = parseGenome(web('start: a') + 'update: { waves: 3, bake: 45s, max_5xx: 2.5% }\n', { file: FILE, root: ROOT, commit: 'abc' })
  assert.deepEqual(g.update, { waves: 3, bakeMs: 45_000, max5xx: 0.025 })
  assert.equal(parseGenome(web('start: a'), { file: FILE, root: ROOT, commit: 'abc' }).update, undefined)
})

test('immune: a quarantined cell is replaced after 10 min unless the genome says another bound, or never', () => {
  const g = (extra: string) => parseGenome(web('start: a') + extra, { file: FILE, root: ROOT, commit: 'abc' }).immune
  assert.deepEqual(g(''), { replaceAfterMs: 600_000 })
  assert.deepEqual(g('immune: { replace_after: 90s }\n'), { replaceAfterMs: 90_000 })
  assert.deepEqual(g('immune:\n  replace_after: never\n'), { replaceAfterMs: null })
})

test('instances: stateless means two cells or more as load asks, a number is exact, 1 is one owner', () => {
  const spec = (...fields: string[]) => parseGenome(web('start: a', ...fields), { file: FILE, root: ROOT, commit: 'abc' }).functions[0].instances ?? null
  assert.deepEqual(spec('stateless: true'), { min: 2, max: 64, scaleInAfterMs: 600_000 })
  assert.deepEqual(spec('instances: auto', 'max_instances: 5', 'scale_in_after: 90s'), { min: 2, max: 5, scaleInAfterMs: 90_000 })
  assert.deepEqual(spec('stateless: true', 'max_instances: 1'), { min: 1, max: 1, scaleInAfterMs: 600_000 })
  assert.deepEqual(spec('instances: 3'), { min: 3, max: 3, scaleInAfterMs: 600_000 })
  assert.equal(spec('stateless: true', 'instances: 1'), null)
  assert.equal(spec('stateless: false'), null)
  assert.equal(spec(), null)
})

for (const c of bad) {
  test(`invalid genome: ${c.name}`, () => {
    const err = errorOf(c.text)
    assert.equal(err.code, 'GENOME_INVALID', err.message)
    const problems = err.details.problems as Problem[]
    const p = problems.find(x => x.field === c.field)
    assert.ok(p != null, `no problem for ${c.field} in:\n${err.message}`)
    assert.deepEqual([p.file, p.line, p.column], [FILE, c.line, c.column], p.message)
    assert.ok(p.message.startsWith(`${FILE}:${c.line}:${c.column}: ${c.field}: `), p.message)
    assert.match(p.message, /expected .+, found .+/)
    assert.ok(p.expected !== '' && p.found !== '')
    if (c.says != null) assert.ok(p.message.includes(c.says), `"${p.message}" should say ${c.says}`)
    assert.ok(err.message.split('\n').includes(p.message), 'each problem is one line of the error message')
    assert.match(err.hint, /organism\.yaml/)
  })
}

test('an unknown field gets a did-you-mean', () => {
  const err = errorOf(web('start: a', 'prot: 9001'))
  const p = (err.details.problems as Problem[])[0]
  assert.equal(p.field, 'functions.web.prot')
  assert.ok(p.message.startsWith('organism.yaml:6:5: functions.web.prot: unknown field (did you mean "port"?)'), p.message)
})

test('all problems are reported at once, in file order', () => {
  const text = [
    'organism: Campus', // 1
    'zone: campus.test', // 2
    'functions:', // 3
    '  web:', // 4
    '    start: a', // 5
    '    prot: 1', // 6
    '    health: x', // 7
    'division:', // 8
    '  cpu: -1' // 9
  ].join('\n')
  const err = errorOf(text)
  const problems = err.details.problems as Problem[]
  assert.deepEqual(problems.map(p => `${p.line}:${p.column} ${p.field}`), [
    '1:11 organism', '6:5 functions.web.prot', '7:13 functions.web.health', '9:8 division.cpu'
  ])
  assert.match(err.message, /4 problems/)
  assert.equal(err.message.split('\n').length, 5)
})

test('bad YAML syntax is GENOME_YAML with line and column', () => {
  const err = errorOf('organism: c\nzone: c.test\nfunctions:\n  web: { start: a\n')
  assert.equal(err.code, 'GENOME_YAML')
  assert.match(err.message, /^organism\.yaml:\d+:\d+: not valid YAML/)
  assert.equal(typeof err.details.line, 'number')
  assert.equal(err.details.line, 5)
})

test('checkFiles: missing code directory and hosts file are reported; present ones pass', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'genome-parse-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  const text = web('start: a', 'code: functions/web') + 'hosts: pool.yaml\n'
  const err = errorOf(text, { checkFiles: true, root })
  const problems = err.details.problems as Problem[]
  assert.deepEqual(problems.map(p => `${p.line}:${p.column} ${p.field}`), ['6:11 functions.web.code', '7:8 hosts'])
  assert.match(problems[0].message, /expected an existing directory in the genome, found no directory at functions\/web/)
  // Without checkFiles the same text is fine.
  assert.equal(parseGenome(text, { file: FILE, root }).functions[0].codeDir, join(root, 'functions/web'))
  await mkdir(join(root, 'functions/web'), { recursive: true })
  await writeFile(join(root, 'pool.yaml'), 'hosts: []\n')
  await writeFile(join(root, 'organism.yaml'), text)
  const g = await readGenome(root)
  assert.equal(g.hostPool, 'pool.yaml')
  assert.equal(g.root, root)
})

test('readGenome: a directory without organism.yaml is GENOME_NOT_FOUND', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'genome-parse-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  await assert.rejects(readGenome(root), (e: unknown) => isOrganismError(e, 'GENOME_NOT_FOUND') && e.message.includes(root))
})
