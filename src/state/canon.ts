// Canonical JSON: sorted keys, no whitespace, so every cell signs and checks the same bytes.

/** Deterministic JSON of plain data (objects, arrays, strings, finite numbers, booleans, null). */
export function canonical (value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no NaN or Infinity')
    return JSON.stringify(value)
  }
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`).join(',')}}`
  }
  throw new TypeError(`canonical JSON cannot encode ${typeof value}`)
}

const encoder = new TextEncoder()
export function canonicalBytes (value: unknown): Uint8Array {
  return encoder.encode(canonical(value))
}

/** 32-bit FNV-1a: a cheap, stable hash for tie-breaks and fake signatures (never for security). */
export function fnv1a (text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
