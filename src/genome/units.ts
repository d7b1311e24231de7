// Sizes ("512MiB") and durations ("60s") as written in organism.yaml: pure conversions, no I/O.

export const SIZE_UNITS: Readonly<Record<string, number>> = {
  B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4
}
export const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

export type Quantity =
  | { readonly ok: true, readonly value: number }
  | { readonly ok: false, readonly reason: 'syntax' }
  | { readonly ok: false, readonly reason: 'unit', readonly unit: string }

/** "1.5GiB" -> 1610612736 with the given unit table; units are case-sensitive so that MB and Mb never blur. */
export function parseQuantity (text: string, units: Readonly<Record<string, number>>): Quantity {
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$/.exec(text)
  if (m == null) return { ok: false, reason: 'syntax' }
  const factor = units[m[2]]
  if (factor == null) return { ok: false, reason: 'unit', unit: m[2] }
  return { ok: true, value: Math.round(Number(m[1]) * factor) }
}
