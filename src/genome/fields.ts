// Field readers shared by the organism.yaml schema: names, DNS names, paths inside the genome.
import { describe, report, scalar, type Entry, type WalkContext } from './yaml-walk.ts'
import { DURATION_UNITS, parseQuantity, SIZE_UNITS } from './units.ts'
import { isDnsLabel } from '../core/net-names.ts'

export const NAME_RE = /^[a-z][a-z0-9-]*$/

/** Asks whether a path (relative to the genome root) exists as a directory or a file; null skips those checks. */
export type ExistsCheck = ((rel: string, kind: 'dir' | 'file') => boolean) | null

/** Valid DNS name (lower case expected, no trailing dot), at least two labels. */
export function isDnsName (name: string): boolean {
  if (name.length > 253 || !name.includes('.')) return false
  return name.split('.').every(isDnsLabel)
}

export function readName (ctx: WalkContext, e: Entry): string | null {
  const v = scalar(e)
  if (typeof v === 'string' && NAME_RE.test(v) && v.length <= 63) return v
  report(ctx, e.valueAt, e.field, 'a name of lower-case letters, digits and "-", starting with a letter (at most 63)', describe(e.value))
  return null
}

export function readDnsName (ctx: WalkContext, e: Entry): string | null {
  const v = scalar(e)
  if (typeof v === 'string') {
    const name = v.trim().toLowerCase().replace(/\.$/, '')
    if (isDnsName(name)) return name
  }
  report(ctx, e.valueAt, e.field, 'a DNS name like "campus.example.org" (letters, digits, "-", dots)', describe(e.value))
  return null
}

/** A path inside the genome as written: relative, no "..", no empty segments. */
export function readRelativePath (ctx: WalkContext, e: Entry, what: string): string | null {
  const v = scalar(e)
  if (typeof v === 'string') {
    const p = v.trim().replace(/\/+$/, '').replace(/^\.\//, '')
    if (p !== '' && !p.startsWith('/') && p.split('/').every(s => s !== '' && s !== '..' && s !== '.')) return p
  }
  report(ctx, e.valueAt, e.field, `a relative path to ${what} inside the genome (no leading "/", no "..")`, describe(e.value))
  return null
}


/** A limit greater than 0: a number, a whole number, a size ("512MiB") or a duration ("60s"); null when absent or wrong (reported). */
export function readLimit (ctx: WalkContext, e: Entry | undefined, kind: 'number' | 'integer' | 'size' | 'duration'): number | null {
  if (e == null) return null
  const v = scalar(e)
  const expected = {
    number: 'a number greater than 0',
    integer: 'a whole number greater than 0',
    size: 'a size greater than 0: bytes, or a number with B, KB, MB, GB, TB, KiB, MiB, GiB, TiB (e.g. 512MiB)',
    duration: 'a duration greater than 0: a number with ms, s, m or h (e.g. 60s)'
  }[kind]
  let value: number | null = null
  if (typeof v === 'number' && kind !== 'duration') value = v
  else if (typeof v === 'string' && (kind === 'size' || kind === 'duration')) {
    const q = parseQuantity(v, kind === 'size' ? SIZE_UNITS : DURATION_UNITS)
    if (!q.ok && q.reason === 'unit') {
      report(ctx, e.valueAt, e.field, expected, describe(e.value), `unknown unit "${q.unit}"; expected ${expected}, found ${describe(e.value)}`)
      return null
    }
    if (q.ok) value = q.value
  }
  const wholeNeeded = kind === 'integer' || kind === 'size'
  if (value == null || !Number.isFinite(value) || value <= 0 || (wholeNeeded && !Number.isInteger(value))) {
    report(ctx, e.valueAt, e.field, expected, describe(e.value))
    return null
  }
  return value
}
