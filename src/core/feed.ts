// A typed change feed: each subscriber gets its own queue of values as an async iterable, ended by its signal.

export class Feed<T> {
  private readonly subs = new Set<(v: T | null) => void>()

  publish (value: T): void {
    for (const s of this.subs) s(value)
  }

  async * subscribe (signal?: AbortSignal): AsyncGenerator<T> {
    const queue: Array<T | null> = []
    let wake: (() => void) | null = null
    const push = (v: T | null): void => { queue.push(v); wake?.() }
    const onAbort = (): void => push(null)
    this.subs.add(push)
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      while (signal?.aborted !== true) {
        if (queue.length === 0) await new Promise<void>((resolve) => { wake = resolve })
        wake = null
        const v = queue.shift()
        if (v === null || v === undefined) return
        yield v
      }
    } finally {
      this.subs.delete(push)
      signal?.removeEventListener('abort', onAbort)
    }
  }
}
