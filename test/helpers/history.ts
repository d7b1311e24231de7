// A Jepsen-style history of client operations against an organism, and its checks (pure): every acknowledged write
// is present at the end, and no two cells acknowledged writes of one function at one epoch.

export interface WriteOp {
  readonly fn: string
  /** Unique per run: what a final read must contain. */
  readonly id: string
  readonly via: string
  readonly start: number
  readonly end: number
  /** HTTP status, or 0 when the request failed (timeout, reset): not acknowledged. */
  readonly status: number
  /** X-Organism-Served of the answer: "<cell> <epoch>". */
  readonly served?: string
}

export interface Verdict {
  readonly acknowledged: number
  readonly unacknowledged: number
  /** Acknowledged writes missing from a final read, with the cells whose read missed them. */
  readonly lost: ReadonlyArray<{ op: WriteOp, missingAt: string[] }>
  /** (fn, epoch) acknowledged by more than one cell. */
  readonly splitEpochs: ReadonlyArray<{ fn: string, epoch: number, cells: string[] }>
}

export const acknowledged = (op: WriteOp): boolean => op.status >= 200 && op.status < 300

/** `finalReads`: for each function, what each cell's read of it returned (its body). */
export function checkHistory (ops: readonly WriteOp[], finalReads: ReadonlyMap<string, ReadonlyMap<string, string>>): Verdict {
  const acked = ops.filter(acknowledged)
  const lost: Array<{ op: WriteOp, missingAt: string[] }> = []
  for (const op of acked) {
    const reads = finalReads.get(op.fn)
    const missingAt = reads == null ? ['(no final read)'] : [...reads].filter(([, body]) => !body.includes(op.id)).map(([cell]) => cell)
    if (missingAt.length > 0) lost.push({ op, missingAt })
  }
  const byEpoch = new Map<string, Set<string>>()
  for (const op of acked) {
    if (op.served == null) continue
    const [cell, epoch] = op.served.split(' ')
    const key = `${op.fn} ${epoch}`
    const set = byEpoch.get(key) ?? new Set<string>()
    set.add(cell)
    byEpoch.set(key, set)
  }
  const splitEpochs = [...byEpoch].filter(([, cells]) => cells.size > 1).map(([key, cells]) => {
    const [fn, epoch] = key.split(' ')
    return { fn, epoch: Number(epoch), cells: [...cells] }
  })
  return { acknowledged: acked.length, unacknowledged: ops.length - acked.length, lost, splitEpochs }
}
