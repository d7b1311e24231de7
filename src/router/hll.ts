// HyperLogLog (pure): estimates distinct client keys in 2^p bytes, with a 64-bit-ish hash of two murmur3 passes.

/** murmur3 x86_32 of a string's UTF-16 code units; cheap and well mixed, good enough for counting. */
export function murmur32 (key: string, seed: number): number {
  let h = seed >>> 0
  const n = key.length
  let i = 0
  for (; i + 1 < n; i += 2) {
    let k = (key.charCodeAt(i) & 0xffff) | ((key.charCodeAt(i + 1) & 0xffff) << 16)
    k = Math.imul(k, 0xcc9e2d51); k = (k << 15) | (k >>> 17); k = Math.imul(k, 0x1b873593)
    h ^= k; h = (h << 13) | (h >>> 19); h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  if (i < n) {
    let k = key.charCodeAt(i) & 0xffff
    k = Math.imul(k, 0xcc9e2d51); k = (k << 15) | (k >>> 17); k = Math.imul(k, 0x1b873593)
    h ^= k
  }
  h ^= n * 2
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16
  return h >>> 0
}

export class HyperLogLog {
  readonly precision: number
  readonly registers: Uint8Array
  constructor (precision = 14) {
    if (precision < 4 || precision > 18) throw new RangeError('precision must be 4..18')
    this.precision = precision
    this.registers = new Uint8Array(1 << precision)
  }

  add (key: string): void {
    this.addHash(murmur32(key, 0x9747b28c), murmur32(key, 0x5bd1e995))
  }

  /** hi/lo: two independent 32-bit hashes; index from hi's top p bits, rank from the remaining 64-p bits. */
  addHash (hi: number, lo: number): void {
    const p = this.precision
    const idx = hi >>> (32 - p)
    const restHi = (hi << p) >>> 0 // the 32-p bits left of hi, left-aligned
    let rank: number
    if (restHi !== 0) rank = Math.clz32(restHi) + 1
    else rank = (32 - p) + (lo === 0 ? 32 : Math.clz32(lo)) + 1
    if (rank > this.registers[idx]) this.registers[idx] = rank
  }

  /** Takes the register-wise maximum (union of the two sets). */
  merge (other: HyperLogLog): void {
    if (other.precision !== this.precision) throw new RangeError('precision mismatch')
    const a = this.registers
    const b = other.registers
    for (let i = 0; i < a.length; i++) if (b[i] > a[i]) a[i] = b[i]
  }

  clear (): void { this.registers.fill(0) }

  estimate (): number {
    return estimateRegisters([this.registers])
  }
}

/** Estimate of the union of several register arrays of equal size, without copying them.
 * Ertl's improved estimator (arXiv:1702.01284): unbiased across the whole range, so no linear-counting switch or bias tables. */
export function estimateRegisters (sets: readonly Uint8Array[]): number {
  const m = sets[0].length
  const q = 64 - Math.log2(m)
  const hist = new Float64Array(q + 2)
  for (let i = 0; i < m; i++) {
    let r = 0
    for (const s of sets) if (s[i] > r) r = s[i]
    hist[r]++
  }
  if (hist[0] === m) return 0
  let z = m * tau(1 - hist[q + 1] / m)
  for (let k = q; k >= 1; k--) z = 0.5 * (z + hist[k])
  z += m * sigma(hist[0] / m)
  return Math.round(m * m / (2 * Math.LN2) / z)
}

function sigma (x: number): number {
  if (x === 1) return Infinity
  let y = 1
  let z = x
  for (;;) {
    x *= x
    const prev = z
    z += x * y
    y += y
    if (z === prev) return z
  }
}

function tau (x: number): number {
  if (x === 0 || x === 1) return 0
  let y = 1
  let z = 1 - x
  for (;;) {
    x = Math.sqrt(x)
    const prev = z
    y *= 0.5
    z -= (1 - x) ** 2 * y
    if (z === prev) return z / 3
  }
}
