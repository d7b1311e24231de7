// Field readers shared by the organism.yaml schema: names, DNS names, paths inside the genome.
import { describe, report, scalar, type Entry, type WalkContext } from './yaml-walk.ts'

export const NAME_RE = /^[a-z][a-z0-9-]*$/

/** Asks whether a path (relative to the genome root) exists as a directory or a file; null skips those checks. */
export type ExistsCheck = ((rel: string, kind: 'dir' | 'file') => boolean) | null

/** Valid DNS name (lower case expected, no trailing dot), at least two labels. */
export function isDnsName (name: string): boolean {
  if (name.length > 253 || !name.includes('.')) return false
  return name.split('.').every(l => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l))
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

