// Plain-text views of the cell's status for a terminal (the --json output is the status object itself).
import type { CellStatus } from '../cell/status.ts'

function table (rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n')
}

const mib = (n: number): string => n < 1024 * 1024 ? `${Math.round(n / 1024)}K` : `${(n / 1024 / 1024).toFixed(1)}M`

export function formatStatus (s: CellStatus): string {
  const head = [
    `organism ${s.organism} (zone ${s.zone}), genome ${s.genome.commit.slice(0, 12)}`,
    `cell ${s.cell.name} (pid ${s.cell.pid}), up ${s.cell.uptimeSeconds}s, state ${s.cell.stateDir}`,
    `router ${s.router.url}, DNS port ${s.dns.port}, live map ${s.router.url}/`,
    s.store.kind === 'local'
      ? 'ownership: a local file (this cell is alone)'
      : s.store.kind === 'joining'
        ? `ownership: joining the organism's store${s.store.problem != null ? ` (${s.store.problem})` : ''}`
        : `ownership: etcd at ${s.store.endpoints.join(', ')} (${s.store.role === 'holder' ? 'run by this cell' : `run by ${s.members.find((m) => m.id === s.store.holder)?.name ?? s.store.holder ?? '?'}`})${s.store.problem != null ? `: ${s.store.problem}` : ''}`
  ]
  const rows = [['FUNCTION', 'ROUTE', 'STATE', 'PORT', 'RESTARTS', 'REQ/S', 'P50', 'P99', 'USERS', 'CPU-S', 'MEM', 'DATA', 'DOMAIN']]
  for (const f of s.functions) {
    rows.push([
      f.name, f.route, f.state, f.port == null ? '-' : String(f.port), String(f.restarts),
      // A function another cell runs: its figures there (all of its traffic), marked with an @.
      f.atOwner != null ? `@${f.atOwner.requestsPerSecond.toFixed(1)}` : f.traffic.requestsPerSecond.toFixed(1), `${f.traffic.p50Ms.toFixed(1)}ms`,
      f.atOwner != null ? `@${f.atOwner.p99Ms.toFixed(1)}ms` : `${f.traffic.p99Ms.toFixed(1)}ms`,
      String(Math.round(f.traffic.distinctUsers)), f.cpuSeconds.toFixed(1), mib(f.memoryBytes), mib(f.dataBytes),
      f.domain + (f.pathPrefix ?? '')
    ])
  }
  // COMMIT: the genome commit each cell runs, so that a rollout (`cell update`) shows cell by cell.
  const members = [['CELL', 'STATE', 'ADDRESS', 'FUNCTIONS', 'REQ/S', 'COMMIT', 'ID']]
  for (const m of s.members) members.push([m.name + (m.self ? ' (this)' : ''), m.liveness, m.address == null ? '-' : `${m.address}:${m.routerPort}`, m.functions.join(',') || '-', m.load.rps.toFixed(1), m.genome?.slice(0, 12) ?? '-', m.id.slice(-12)])
  const errors = [
    ...s.functions.filter((f) => f.error != null).map((f) => `  ${f.name}: ${f.error?.code}: ${f.error?.message}\n    hint: ${f.error?.hint}`),
    ...s.functions.filter((f) => f.error == null && f.unavailable != null).map((f) => `  ${f.name}: answers 503 here: ${f.unavailable}`)
  ]
  // Where each function's data is: its owner, its replica (and how far behind), as the store says.
  const copies = s.placements.map((p) => {
    if (p.instances != null) return `  ${p.fn}: ${p.instances.length} instance${p.instances.length === 1 ? '' : 's'} (${p.instanceNames?.join(', ') || 'none serving yet'}), no data kept`
    const rep = s.functions.find((f) => f.name === p.fn)?.replication
    const lag = rep == null ? '' : rep.state === 'synced' ? ', synced' : rep.state === 'alone' ? ', no other cell alive: kept here only' : `, ${rep.state}${rep.lagMs > 0 ? ` (${(rep.lagMs / 1000).toFixed(1)} s behind)` : ''}${rep.lastError != null ? `: ${rep.lastError}` : ''}`
    return `  ${p.fn}: owner ${p.ownerName} (epoch ${p.epoch}), replica ${p.replicaName ?? 'none'}${lag}`
  })
  const events = s.events.slice(-5).map((e) => `  ${new Date(e.at).toISOString().slice(11, 19)} ${e.text}`)
  const atOwner = s.functions.some((f) => f.atOwner != null) ? ['@: as measured by the cell that runs it (all of its traffic, published every 10 s)'] : []
  return [...head, '', table(members), '', table(rows), ...atOwner, ...(copies.length > 0 ? ['', 'data:', ...copies] : []), ...(events.length > 0 ? ['', 'recent:', ...events] : []), ...(errors.length > 0 ? ['', 'problems:', ...errors] : [])].join('\n')
}

/** What to try once the demo is up. */
/** What the demo can grow onto, and how to make it grow. */
export function formatDemoPool (pool: { kind: 'ssh' | 'local', hosts: ReadonlyArray<{ url: string }> }, s: CellStatus): string {
  if (pool.hosts.length === 0) return 'no demo hosts: this organism cannot divide (ORGANISM_DEMO_POOL=none)'
  const how = pool.kind === 'ssh' ? 'empty hosts on this machine, each its own sshd on a loopback address' : 'empty hosts on this machine, run by the local executor (no sshd here: the same steps, without SSH)'
  const fn = s.functions.find((f) => f.name === 'grades')?.name ?? s.functions[0]?.name ?? 'FN'
  return [
    `pool: ${pool.hosts.length} ${how}:`,
    ...pool.hosts.map((h) => `  ${h.url}`),
    '',
    'make it divide:',
    `  npm run load -- ${fn} --rps 40 --seconds 60   push ${fn} over the genome's limit; the cell divides by itself`,
    `  npx cell divide ${pool.hosts[0].url} --function forum   or divide by hand`,
    `watch it happen on the live map: ${s.router.url}/`
  ].join('\n')
}

export function formatWelcome (s: CellStatus): string {
  const lines = [`organism ${s.organism} is up: router on ${s.router.url}`, '', 'try:']
  for (const f of s.functions) lines.push(`  curl -H 'Host: ${f.domain}' ${s.router.url}${f.pathPrefix ?? '/'}`)
  lines.push('', `live map: ${s.router.url}/`, '', 'npx cell status       the functions, their state and traffic', 'npx cell logs FN -f   a function\'s log', 'Ctrl-C                stop the organism')
  return lines.join('\n')
}
