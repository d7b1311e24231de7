// Reads typed fields out of a YAML document while keeping positions, and records each problem with file:line:column.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml'
import { suggest } from './suggest.ts'

export interface Problem {
  readonly file: string
  readonly line: number
  readonly column: number
  /** Dotted path of the field, e.g. functions.catalog.port */
  readonly field: string
  readonly expected: string
  readonly found: string
  /** One line: "file:line:col: field: what is wrong". */
  readonly message: string
}

export interface WalkContext {
  readonly file: string
  readonly lines: LineCounter
  readonly doc: Document
  readonly problems: Problem[]
}

/** A field of a map: where its key and value are, and the value node (aliases resolved). */
export interface Entry {
  readonly key: string
  readonly field: string
  readonly keyAt: number
  readonly valueAt: number
  readonly value: unknown
}

/** Records one problem; `text` replaces the default "expected X, found Y" wording. */
export function report (ctx: WalkContext, at: number, field: string, expected: string, found: string, text?: string): void {
  const { line, col } = ctx.lines.linePos(at)
  const body = text ?? `expected ${expected}, found ${found}`
  ctx.problems.push({ file: ctx.file, line, column: col, field, expected, found, message: `${ctx.file}:${line}:${col}: ${field}: ${body}` })
}

export function offsetOf (node: unknown, fallback: number): number {
  const range = (node as { range?: readonly number[] } | null | undefined)?.range
  return range != null ? range[0] : fallback
}

export function resolve (ctx: WalkContext, node: unknown): unknown {
  return isAlias(node) ? node.resolve(ctx.doc) : node
}

/** What a node is, in words for "found …". */
export function describe (node: unknown): string {
  if (node == null) return 'nothing'
  if (isMap(node)) return 'a map'
  if (isSeq(node)) return 'a list'
  if (isScalar(node)) {
    const v = node.value
    if (v == null) return 'nothing (null)'
    if (typeof v === 'string') return v.length > 60 ? `"${v.slice(0, 57)}..."` : JSON.stringify(v)
    if (typeof v === 'number' || typeof v === 'bigint') return `the number ${String(v)}`
    if (typeof v === 'boolean') return `the boolean ${String(v)}`
    return String(v)
  }
  return 'an unsupported value'
}

/**
 * The entries of a map node, in order. Reports a non-map, duplicate keys and (when `allowed` is given)
 * unknown keys with a did-you-mean; those entries are left out so that later checks see only good fields.
 */
export function readMap (ctx: WalkContext, node: unknown, field: string, at: number, allowed: readonly string[] | null, expected = 'a map'): Entry[] | null {
  node = resolve(ctx, node)
  if (!isMap(node)) {
    report(ctx, offsetOf(node, at), field, expected, describe(node))
    return null
  }
  const seen = new Map<string, number>()
  const entries: Entry[] = []
  for (const pair of node.items) {
    const keyNode = pair.key
    const keyAt = offsetOf(keyNode, offsetOf(node, at))
    if (!isScalar(keyNode) || keyNode.value == null || typeof keyNode.value === 'object') {
      report(ctx, keyAt, field, 'a plain name as key', describe(keyNode))
      continue
    }
    const key = String(keyNode.value)
    const path = field === '' ? key : `${field}.${key}`
    const first = seen.get(key)
    if (first != null) {
      const firstLine = ctx.lines.linePos(first).line
      report(ctx, keyAt, path, 'each field once', `"${key}" again`, `duplicate field (first set on line ${firstLine}); expected each field once, found "${key}" again`)
      continue
    }
    seen.set(key, keyAt)
    if (allowed != null && !allowed.includes(key)) {
      const near = suggest(key, allowed)
      const hint = near != null ? ` (did you mean "${near}"?)` : ''
      report(ctx, keyAt, path, `one of ${allowed.join(', ')}`, `"${key}"`, `unknown field${hint}; expected one of ${allowed.join(', ')}, found "${key}"`)
      continue
    }
    const value = resolve(ctx, pair.value)
    entries.push({ key, field: path, keyAt, valueAt: offsetOf(value, keyAt), value })
  }
  return entries
}

export function find (entries: readonly Entry[] | null, key: string): Entry | undefined {
  return entries?.find(e => e.key === key)
}

/** Scalar value of an entry, or undefined when it is not a scalar. */
export function scalar (e: Entry): unknown {
  return isScalar(e.value) ? e.value.value : undefined
}

export function readString (ctx: WalkContext, e: Entry, expected = 'a string'): string | null {
  const v = scalar(e)
  if (typeof v === 'string' && v.trim() !== '') return v.trim()
  report(ctx, e.valueAt, e.field, expected, describe(e.value))
  return null
}

export function readInteger (ctx: WalkContext, e: Entry, min: number, max: number, expected: string): number | null {
  const v = scalar(e)
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v
  report(ctx, e.valueAt, e.field, expected, describe(e.value))
  return null
}

export function readBoolean (ctx: WalkContext, e: Entry): boolean | null {
  const v = scalar(e)
  if (typeof v === 'boolean') return v
  report(ctx, e.valueAt, e.field, 'true or false', describe(e.value))
  return null
}
