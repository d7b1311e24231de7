// Two connected in-memory byte streams (what one end writes, the other reads), with backpressure; the near end of
// the data path's connection into the router's own node:http handler. The far end passes for the client's socket:
// it carries the client's address and port, so that the handler judges the request as it would the client's.
import { Duplex } from 'node:stream'

export class PairEnd extends Duplex {
  peer: PairEnd | null = null
  remoteAddress: string | undefined
  remotePort: number | undefined
  bytesRead = 0
  bytesWritten = 0
  /** The write that waits for the peer's reader to want more. */
  private blocked: (() => void) | null = null

  override _write (chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const peer = this.peer
    if (peer == null || peer.destroyed) { cb(new Error('the other end of the connection is closed')); return }
    this.bytesWritten += chunk.length
    peer.bytesRead += chunk.length
    if (peer.push(chunk)) cb()
    else peer.blocked = cb
  }

  override _read (): void {
    const cb = this.blocked
    this.blocked = null
    cb?.()
  }

  override _final (cb: (err?: Error | null) => void): void {
    this.peer?.push(null)
    cb()
  }

  override _destroy (err: Error | null, cb: (err: Error | null) => void): void {
    const peer = this.peer
    this.peer = null
    if (peer != null && !peer.destroyed) peer.destroy()
    cb(err)
  }

  // What node:http calls on a socket; an in-memory stream has no such options.
  setNoDelay (): this { return this }
  setKeepAlive (): this { return this }
  setTimeout (): this { return this }
  ref (): this { return this }
  unref (): this { return this }
}

/** [near, far]: `far` takes the given address and port as its remote ones. */
export function pair (remoteAddress: string | undefined, remotePort: number | undefined): [PairEnd, PairEnd] {
  const near = new PairEnd()
  const far = new PairEnd()
  near.peer = far
  far.peer = near
  far.remoteAddress = remoteAddress
  far.remotePort = remotePort
  return [near, far]
}
