// A libp2p stream as a Node Duplex, so that HTTP and file transfers can run over member links with backpressure.
import { Duplex } from 'node:stream'
import type { Stream } from '@libp2p/interface'

export function streamToDuplex (stream: Stream): Duplex {
  const source = stream[Symbol.asyncIterator]()
  const duplex = new Duplex({
    read () {
      source.next().then(({ value, done }) => {
        if (done === true) { this.push(null); return }
        this.push(value instanceof Uint8Array ? value : value.subarray())
      }, (err: Error) => { this.destroy(err) })
    },
    write (chunk: Buffer, _enc, cb) {
      try {
        if (stream.send(chunk)) cb()
        else stream.onDrain().then(() => cb(), cb)
      } catch (err) { cb(err as Error) }
    },
    final (cb) { stream.close().then(() => cb(), cb) },
    destroy (err, cb) {
      // A stream closed cleanly both ways needs nothing; anything else is reset so the peer stops at once.
      if (stream.status !== 'closed') stream.abort(err ?? new Error('closed before the end'))
      cb(err)
    }
  })
  return duplex
}
