// Claiming a host for one cell: an atomic mkdir on the host itself, holding who claimed it; release removes it.
import { imprintError } from './errors.ts'
import type { CallOptions, Executor } from './executor.ts'
import { mustSucceed, sh } from './executor.ts'

/** Relative to the user's home on the host. */
export const CLAIM_DIR = '.organism-claim'
export const HOLDER_FILE = 'holder'

export interface Claimant {
  readonly organism: string
  readonly cell: string
}

export interface Holder extends Claimant { readonly at: string }

export interface Claim {
  readonly holder: Holder
  /** The claim was already ours (an earlier attempt died): its journal must be cleaned up first. */
  readonly resumed: boolean
}

export function parseHolder (text: string): Holder | null {
  try {
    const h = JSON.parse(text) as Partial<Holder>
    return typeof h.organism === 'string' && typeof h.cell === 'string' ? { organism: h.organism, cell: h.cell, at: String(h.at ?? '') } : null
  } catch { return null }
}

export function sameClaimant (a: Claimant, b: Claimant): boolean { return a.organism === b.organism && a.cell === b.cell }

/** mkdir is atomic on every POSIX filesystem: of two claimants racing, exactly one makes the directory. */
export async function claimHost (ex: Executor, claimant: Claimant, options: CallOptions = {}, now = new Date()): Promise<Claim> {
  const holder: Holder = { organism: claimant.organism, cell: claimant.cell, at: now.toISOString() }
  const dir = `"$HOME"/${CLAIM_DIR}`
  const script = `umask 077; if mkdir ${dir} 2>/dev/null; then : > ${dir}/journal && printf '%s\\n' ${sh(JSON.stringify(holder))} > ${dir}/${HOLDER_FILE}.tmp && mv ${dir}/${HOLDER_FILE}.tmp ${dir}/${HOLDER_FILE} && echo CLAIMED; ` +
    // A winner that has not written its name yet leaves no holder file: still TAKEN (not a failed command).
    `else echo TAKEN; cat ${dir}/${HOLDER_FILE} 2>/dev/null || true; fi`
  const r = mustSucceed(await ex.exec(script, options), 'claim')
  const [verdict, ...rest] = r.stdout.split('\n')
  if (verdict === 'CLAIMED') return { holder, resumed: false }
  const held = parseHolder(rest.join('\n'))
  if (held != null && sameClaimant(held, claimant)) return { holder: held, resumed: true }
  const who = held == null ? 'a claimant still writing its name (or an unreadable claim)' : `cell ${held.cell} of organism ${held.organism} since ${held.at}`
  throw imprintError('IMPRINT_CLAIMED', `${ex.name} is claimed by ${who}`, { details: { holder: held } })
}

/** Removes the claim if it is ours; a claim held by another cell is left alone. */
export async function releaseHost (ex: Executor, claimant: Claimant, options: CallOptions = {}): Promise<boolean> {
  const dir = `"$HOME"/${CLAIM_DIR}`
  const r = await ex.exec(`cat ${dir}/${HOLDER_FILE} 2>/dev/null`, options)
  const held = parseHolder(r.stdout)
  if (r.code !== 0 || held == null || !sameClaimant(held, claimant)) return false
  mustSucceed(await ex.exec(`rm -rf ${dir}`, options), 'release claim')
  return true
}
