// parseGenome (text -> Genome, every problem at once) and readGenome (a directory's organism.yaml).
import { readFile, stat } from 'node:fs/promises'
import { statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { LineCounter, parseDocument } from 'yaml'
import { genomeError } from './errors.ts'
import { buildGenome } from './schema.ts'
import type { ExistsCheck } from './fields.ts'
import type { Genome } from './types.ts'
import type { Problem, WalkContext } from './yaml-walk.ts'

export interface ParseOptions {
  /** Name used in messages ("organism.yaml:7:5: …"). */
  readonly file: string
  /** Genome root; codeDir paths are made absolute against it. */
  readonly root: string
  readonly commit?: string | null
  /** Check that code directories and the hosts file exist. */
  readonly checkFiles?: boolean
  /** How to check existence when checkFiles is set (default: the file system under root); lets a git tree be checked. */
  readonly exists?: ExistsCheck
}

/** Existence on disk under root. */
export function fileSystemExists (root: string): NonNullable<ExistsCheck> {
  return (rel, kind) => {
    try {
      const s = statSync(join(root, rel))
      return kind === 'dir' ? s.isDirectory() : s.isFile()
    } catch { return false }
  }
}

/** The one error for all validation problems: a header line, then one "file:line:col: field: …" line each. */
export function invalidError (problems: readonly Problem[], heading: string): Error {
  const lines = problems.map(p => p.message)
  return genomeError('GENOME_INVALID', `${heading} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, {
    details: { problems }
  })
}

export function parseGenome (text: string, opts: ParseOptions): Genome {
  const lines = new LineCounter()
  // uniqueKeys off: duplicates are reported by the schema walk with their field path, along with every other problem.
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false })
  if (doc.errors.length > 0) {
    const first = doc.errors[0]
    const { line, col } = lines.linePos(first.pos[0])
    const msg = first.message.split('\n')[0]
    throw genomeError('GENOME_YAML', `${opts.file}:${line}:${col}: not valid YAML: ${msg}`, {
      details: { file: opts.file, line, column: col, yamlCode: first.code }
    })
  }
  const root = resolve(opts.root)
  const ctx: WalkContext = { file: opts.file, lines, doc, problems: [] }
  const exists = opts.checkFiles === true ? (opts.exists ?? fileSystemExists(root)) : null
  const genome = buildGenome(ctx, doc.contents, { root, commit: opts.commit ?? null, exists })
  if (ctx.problems.length > 0 || genome == null) {
    const sorted = [...ctx.problems].sort((a, b) => a.line - b.line || a.column - b.column)
    throw invalidError(sorted, `${opts.file} is not a valid genome`)
  }
  return genome
}

/** Reads and validates <dir>/organism.yaml, checking that the files it names exist. */
export async function readGenome (dir: string, opts: { commit?: string | null } = {}): Promise<Genome> {
  const root = resolve(dir)
  const file = join(root, 'organism.yaml')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const why = (await stat(root).catch(() => null)) == null ? `directory ${root} does not exist` : `no organism.yaml in ${root}`
    throw genomeError('GENOME_NOT_FOUND', `genome not found: ${why}`, { cause: err, details: { file } })
  }
  return parseGenome(text, { file, root, commit: opts.commit ?? null, checkFiles: true })
}
