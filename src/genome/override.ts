// An operator's override (a move or a forced takeover that crosses to another cell, or the expulsion of a member),
// signed with an SSH key the genome's allowed_signers lists, and checked by the cell asked to act: a member cannot act
// on its own say. The signature (ssh-keygen -Y sign, namespace "organism-override") covers the exact request, a time
// and a nonce.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from './git.ts'
import { genomeError } from './errors.ts'
import { parseAllowedSigners, sshSignatureKey } from './signers.ts'

export const OVERRIDE_NAMESPACE = 'organism-override'
/** How old (or how far in the future) a signed override may be when it is checked. */
export const OVERRIDE_WINDOW_MS = 5 * 60_000

export interface MoveOverride {
  readonly organism: string
  readonly kind: 'move'
  readonly fn: string
  /** The target cell's peer id. */
  readonly to: string
  readonly force: boolean
}

/** A member removed from the organism for good; `successor` takes the founder's place as the root of admissions. */
export interface ExpelOverride {
  readonly organism: string
  readonly kind: 'expel'
  readonly peer: string
  readonly successor: string | null
}

export type OverrideRequest = MoveOverride | ExpelOverride

const subject = (r: OverrideRequest): string => r.kind === 'move' ? `the move of ${r.fn}` : `the expulsion of ${r.peer}`

export interface SignedOverride {
  /** JSON of the request with `at` (ms) and `nonce`: what was signed, byte for byte. */
  readonly payload: string
  readonly signature: string
}

export async function signOverride (keyPath: string, req: OverrideRequest, now = Date.now()): Promise<SignedOverride> {
  const payload = JSON.stringify({ v: 1, ...req, at: now, nonce: randomBytes(12).toString('hex') })
  const r = await run('ssh-keygen', ['-Y', 'sign', '-q', '-f', keyPath, '-n', OVERRIDE_NAMESPACE], { input: payload, timeoutMs: 10_000 })
  if (r.code !== 0 || !r.stdout.toString().includes('BEGIN SSH SIGNATURE')) {
    throw genomeError('GENOME_OVERRIDE_UNSIGNED', `could not sign the override with ${keyPath}: ${r.stderr.trim() || `ssh-keygen exited ${r.code}`}`, { details: { keyPath } })
  }
  return { payload, signature: r.stdout.toString() }
}

/**
 * Checks a signed override against the genome's allowed_signers and the request it must match exactly; returns the
 * signer's principal. `seen` remembers nonces (a replayed override is refused within its window).
 */
export async function verifyOverride (signersText: string, signed: SignedOverride | undefined, want: OverrideRequest, seen: Map<string, number> | null, now = Date.now()): Promise<string> {
  const refuse = (why: string): never => { throw genomeError('GENOME_OVERRIDE_REFUSED', `override for ${subject(want)} refused: ${why}`) }
  if (signed == null || typeof signed.payload !== 'string' || typeof signed.signature !== 'string') return refuse('it is not signed')
  let p: Record<string, unknown>
  try { p = JSON.parse(signed.payload) as Record<string, unknown> } catch { return refuse('its payload is not JSON') }
  for (const [k, v] of Object.entries(want)) {
    if ((p[k] ?? null) !== v) refuse(`it was signed for ${k} ${JSON.stringify(p[k])}, not ${JSON.stringify(v)}`)
  }
  // seen null: checking an override already acted on (carried in an ownership record, an expulsion), not one to act on now.
  if (seen != null && (typeof p.at !== 'number' || Math.abs(now - p.at) > OVERRIDE_WINDOW_MS)) refuse('it was signed more than 5 minutes from now (check the clocks)')
  if (typeof p.nonce !== 'string' || p.nonce.length < 16) refuse('it carries no nonce')
  if (seen != null) for (const [n, at] of seen) if (now - at > 2 * OVERRIDE_WINDOW_MS) seen.delete(n)
  if (seen?.has(p.nonce as string) === true) refuse('it was used before (a replay)')
  const key = sshSignatureKey(signed.signature)
  const listed = parseAllowedSigners(signersText).filter((e) => e.fingerprint === key && !e.certAuthority)
  const entry = listed.find((e) => e.namespaces == null || e.namespaces.includes(OVERRIDE_NAMESPACE))
  if (entry == null && listed.length > 0) return refuse(`its key (${key ?? '?'}) is listed in allowed_signers for ${listed.flatMap((e) => e.namespaces ?? []).join(', ')} only: add ${OVERRIDE_NAMESPACE} to its namespaces= there (a signed commit)`)
  if (entry == null) return refuse(`its key (${key ?? 'unreadable'}) is not in the genome's allowed_signers`)
  const dir = await mkdtemp(join(tmpdir(), 'organism-override-'))
  try {
    await writeFile(join(dir, 'allowed_signers'), signersText)
    await writeFile(join(dir, 'sig'), signed.signature)
    const r = await run('ssh-keygen', ['-Y', 'verify', '-f', join(dir, 'allowed_signers'), '-I', entry.principals[0], '-n', OVERRIDE_NAMESPACE, '-s', join(dir, 'sig')], { input: signed.payload, timeoutMs: 10_000 })
    if (r.code !== 0) refuse(`its signature does not verify (${r.stderr.trim() || r.stdout.toString().trim()})`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  seen?.set(p.nonce as string, now)
  return entry.principals[0]
}
