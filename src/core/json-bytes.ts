// JSON as the bytes of a member-link request or answer (the cell-to-cell RPCs: moves, store, updates).
export const encodeJson = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v))
export const decodeJson = <T>(b: Uint8Array): T => JSON.parse(new TextDecoder().decode(b)) as T
