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

/** Estimate of the union of several register arrays of equal size, without copying them. */
export function estimateRegisters (sets: readonly Uint8Array[]): number {
  const m = sets[0].length
  let sum = 0
  let zeros = 0
  for (let i = 0; i < m; i++) {
    let r = 0
    for (const s of sets) if (s[i] > r) r = s[i]
    sum += 2 ** -r
    if (r === 0) zeros++
  }
  const alpha = m === 16 ? 0.673 : m === 32 ? 0.697 : m === 64 ? 0.709 : 0.7213 / (1 + 1.079 / m)
  const raw = alpha * m * m / sum
  // Linear counting is far more accurate while many registers are still empty (HLL++ threshold ~2.5m..5m).
  if (zeros > 0) {
    const lc = m * Math.log(m / zeros)
    if (lc <= 2.5 * m) return Math.round(lc)
  }
  return Math.round(raw)
}
