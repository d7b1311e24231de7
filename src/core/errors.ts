// Typed errors: a stable code, a message that says what is wrong, a hint that says what to do.
// Each module declares its codes with defineErrors(); docs/errors.md lists every one (checked by a test).

export interface ErrorSpec {
  /** What the user should do about it. */
  readonly hint: string
}

export class OrganismError extends Error {
  readonly code: string
  readonly hint: string
  readonly details: Record<string, unknown>

  constructor(code: string, message: string, hint: string, options: { cause?: unknown, details?: Record<string, unknown> } = {}) {
    super(message, { cause: options.cause })
    this.name = 'OrganismError'
    this.code = code
    this.hint = hint
    this.details = options.details ?? {}
  }

  toJSON (): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, ...this.details }
  }
}

export type ErrorFactory<C extends string> = (code: C, message: string, options?: { hint?: string, cause?: unknown, details?: Record<string, unknown> }) => OrganismError

const registry = new Map<string, ErrorSpec & { module: string }>()

/** Declares a module's error codes and returns a factory that accepts only those codes. */
export function defineErrors<C extends string> (module: string, specs: Record<C, ErrorSpec>): ErrorFactory<C> {
  for (const [code, spec] of Object.entries(specs) as Array<[C, ErrorSpec]>) {
    const known = registry.get(code)
    if (known != null && known.module !== module) throw new Error(`error code ${code} declared twice (${known.module}, ${module})`)
    registry.set(code, { ...spec, module })
  }
  return (code, message, options = {}) =>
    new OrganismError(code, message, options.hint ?? specs[code].hint, { cause: options.cause, details: options.details })
}

/** Every code declared so far, for the docs check. */
export function declaredErrors (): ReadonlyMap<string, ErrorSpec & { module: string }> {
  return registry
}

export function isOrganismError (err: unknown, code?: string): err is OrganismError {
  return err instanceof OrganismError && (code == null || err.code === code)
}

/** One of the codes a module declared (a DOMException's numeric `code`, or anyone else's error, is not). */
export function isModuleError (err: unknown, module: string): err is OrganismError {
  return err instanceof OrganismError && registry.get(err.code)?.module === module
}

/** One line for a terminal: "CODE: message\n  hint: …". */
export function formatError (err: unknown): string {
  if (err instanceof OrganismError) return `error ${err.code}: ${err.message}\n  hint: ${err.hint}`
  if (err instanceof Error) return `error: ${err.message}`
  return `error: ${String(err)}`
}

/** An error as an API reply carries it: the remote cell's code when it crossed a link, else its own, else `fallback`. */
export function toWireError (err: unknown, fallback: string): { code: string, message: string, hint: string } {
  const e = err as { code?: unknown, message?: string, hint?: string, details?: { remoteCode?: string } } | null
  const own = typeof e?.code === 'string' ? e.code : undefined
  return { code: e?.details?.remoteCode ?? own ?? fallback, message: e?.message ?? String(err), hint: e?.hint ?? 'see the cell log' }
}
