// Commands that talk to a running cell: status, logs, stop.
import { lockHolder } from '../cell/lock.ts'
import type { CellPaths } from '../cell/paths.ts'
import type { CellStatus } from '../cell/status.ts'
import { OrganismError } from '../core/errors.ts'
import { findCell, callCell } from './client.ts'
import { formatStatus } from './format.ts'
import { resolveCell } from '../placement/index.ts'
import { signOverride, defaultKeyPath } from '../genome/index.ts'
import { cliError } from './errors.ts'
import type { CliValues } from './main.ts'

function apiError (status: number, body: string): OrganismError {
  try {
    const e = JSON.parse(body) as { code: string, message: string, hint: string }
    return new OrganismError(e.code, e.message, e.hint)
  } catch {
    return cliError('CLI_USAGE', `the cell answered ${status}: ${body.slice(0, 200)}`)
  }
}

export async function statusCommand (values: CliValues, paths: CellPaths): Promise<number> {
  const addr = await findCell(paths)
  const res = await callCell(addr, 'GET', '/status')
  if (res.status !== 200) throw apiError(res.status, res.body)
  const status = JSON.parse(res.body) as CellStatus
  console.log(values.json === true ? JSON.stringify(status, null, 2) : formatStatus(status))
  return status.functions.every((f) => f.state === 'running' || f.state === 'remote') ? 0 : 3
}

export async function logsCommand (values: CliValues, paths: CellPaths, fn: string | undefined): Promise<number> {
  if (fn == null) throw cliError('CLI_USAGE', 'cell logs needs a function name: `cell logs FN [-f]`')
  const lines = Number(values.lines ?? 50)
  if (!Number.isInteger(lines) || lines < 0) throw cliError('CLI_USAGE', `-n wants a number of lines, got "${values.lines}"`)
  const addr = await findCell(paths)
  const res = await callCell(addr, 'GET', `/logs/${encodeURIComponent(fn)}?lines=${lines}${values.follow === true ? '&follow=1' : ''}`, (c) => process.stdout.write(c))
  if (res.status !== 200) throw apiError(res.status, res.body)
  return 0
}

export async function stopCommand (paths: CellPaths): Promise<number> {
  const addr = await findCell(paths)
  const res = await callCell(addr, 'POST', '/stop')
  if (res.status !== 202) throw apiError(res.status, res.body)
  // The cell drains its functions first; wait (bounded) until its lock is released.
  for (let i = 0; i < 300 && await lockHolder(paths.lockFile) != null; i++) await new Promise((r) => setTimeout(r, 100))
  const gone = await lockHolder(paths.lockFile) == null
  console.log(gone ? `cell ${addr.pid} stopped` : `cell ${addr.pid} is still stopping`)
  return gone ? 0 : 1
}

export async function admitCommand (values: CliValues, paths: CellPaths): Promise<number> {
  const ttl = Number(values.ttl ?? 600)
  if (!Number.isInteger(ttl) || ttl < 1) throw cliError('CLI_USAGE', `--ttl wants whole seconds, got "${values.ttl}"`)
  const addr = await findCell(paths)
  const res = await callCell(addr, 'POST', `/admit?ttl=${ttl}`)
  if (res.status !== 200) throw apiError(res.status, res.body)
  const { token } = JSON.parse(res.body) as { token: string }
  console.log(token)
  console.error(`one-time token, valid ${ttl} s; on the new host: cell start --genome DIR --token <token> [--join MEMBER-MULTIADDR]`)
  return 0
}

export async function moveCommand (values: CliValues, paths: CellPaths, fn: string | undefined): Promise<number> {
  if (fn == null || values.to == null) throw cliError('CLI_USAGE', 'cell move needs a function and a target: `cell move FN --to CELL`')
  const addr = await findCell(paths)
  const force = values.force === true
  // A move asked of another cell (or a takeover by another cell) is an operator's override: signed here, with the
  // operator's key, and checked there against the genome's allowed_signers.
  const st = await callCell(addr, 'GET', '/status')
  if (st.status !== 200) throw apiError(st.status, st.body)
  const s = JSON.parse(st.body) as CellStatus
  const target = resolveCell(s.members.map((m) => ({ peer: m.id, liveness: m.liveness, name: m.name })), values.to)
  const owner = s.placements.find((p) => p.fn === fn)?.owner
  let signed = ''
  // A forced takeover is always signed (the record carries it, every cell checks it); a move when another cell owns fn.
  if (target.ok && (force || (owner != null && owner !== s.cell.id))) {
    const o = await signOverride(values.key ?? defaultKeyPath(), { organism: s.organism, kind: 'move', fn, to: target.peer, force })
    signed = `&signed=${Buffer.from(JSON.stringify(o)).toString('base64url')}`
  }
  const res = await callCell(addr, 'POST', `/move?fn=${encodeURIComponent(fn)}&to=${encodeURIComponent(values.to)}${force ? '&force=1' : ''}${signed}`, undefined, 300_000)
  if (res.status !== 200) throw apiError(res.status, res.body)
  const r = JSON.parse(res.body) as { fn: string, epoch: number, bytes: number, ms: number, holdMs?: number, precopied?: boolean }
  const hold = r.holdMs == null ? '' : r.precopied === true ? `; live: requests held ${r.holdMs} ms` : `; requests held ${r.holdMs} ms`
  console.log(`${r.fn} moved to ${values.to} (epoch ${r.epoch}, ${r.bytes} bytes of data, ${r.ms} ms${hold})`)
  return 0
}

/**
 * `cell expel CELL`: the operator's signed statement that CELL is out for good, handed to this cell, which checks it
 * and spreads it; every member checks it again. CELL may be dead (a stolen or broken host): any member is matched.
 */
export async function expelCommand (values: CliValues, paths: CellPaths, who: string | undefined): Promise<number> {
  if (who == null) throw cliError('CLI_USAGE', 'cell expel needs a cell: `cell expel CELL [--successor CELL] [--key KEY]`')
  const addr = await findCell(paths)
  const st = await callCell(addr, 'GET', '/status')
  if (st.status !== 200) throw apiError(st.status, st.body)
  const s = JSON.parse(st.body) as CellStatus
  const everyone = s.members.map((m) => ({ peer: m.id, liveness: 'alive' as const, name: m.name }))
  const pick = (name: string): string => {
    const r = resolveCell(everyone, name)
    if (r.ok) return r.peer
    // A full peer id of a cell this one no longer lists (already gone from its view) is taken as it is.
    if (/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/.test(name)) return name
    throw cliError('CLI_USAGE', r.message.replace('live cell', 'member'))
  }
  const peer = pick(who)
  if (peer === s.cell.id) throw cliError('CLI_USAGE', 'a cell cannot expel itself: run `cell expel` on another member')
  const successor = values.successor == null ? null : pick(values.successor)
  const o = await signOverride(values.key ?? defaultKeyPath(), { organism: s.organism, kind: 'expel', peer, successor })
  const res = await callCell(addr, 'POST', `/expel?signed=${Buffer.from(JSON.stringify(o)).toString('base64url')}`, undefined, 60_000)
  if (res.status !== 200) throw apiError(res.status, res.body)
  const r = JSON.parse(res.body) as { removed: string[], admitted: string[] }
  const name = (id: string): string => s.members.find((m) => m.id === id)?.name ?? id
  console.log(`expelled ${name(peer)} (${peer}); no longer members here: ${r.removed.map(name).join(', ') || 'none'}`)
  const stay = r.admitted.filter((id) => !r.removed.includes(id))
  if (stay.length > 0) console.error(`${name(peer)} admitted ${stay.map(name).join(', ')}: they stay, renewed by other members; expel them too if they are not yours`)
  return 0
}

/**
 * `cell update [--ref REF]`: this cell verifies a commit of its genome repo, takes it first (the canary), then offers
 * it to the other cells in waves; prints each cell's outcome once the rollout is done or called off.
 */
export async function updateCommand (values: CliValues, paths: CellPaths): Promise<number> {
  const addr = await findCell(paths)
  const res = await callCell(addr, 'POST', `/update?ref=${encodeURIComponent(values.ref ?? 'HEAD')}`, undefined, 60 * 60_000)
  if (res.status !== 200) throw apiError(res.status, res.body)
  const r = JSON.parse(res.body) as { commit: string, outcome: string, cells: Array<{ cell: string, wave: number, phase: string, code?: string, why?: string, figures?: { requests: number, errors5xx: number, p99Ms: number } }> }
  console.log(`commit ${r.commit.slice(0, 12)}: ${r.outcome === 'done' ? 'every cell runs it' : 'reverted'}`)
  for (const c of r.cells) {
    const f = c.figures == null ? '' : ` (bake: ${c.figures.requests} requests, ${c.figures.errors5xx} 5xx, p99 ${Math.round(c.figures.p99Ms)} ms)`
    console.log(`  ${c.wave === 0 ? 'canary' : `wave ${c.wave}`} ${c.cell}: ${c.phase}${f}${c.why != null ? `: ${c.code != null ? `${c.code}: ` : ''}${c.why}` : ''}`)
  }
  return r.outcome === 'done' && r.cells.every((c) => c.phase === 'done') ? 0 : 1
}
