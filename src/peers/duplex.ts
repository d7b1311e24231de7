// A libp2p stream as a Node Duplex, so that HTTP and file transfers can run over member links with backpressure.
import { Duplex } from 'node:stream'
import type { Stream, StreamMessageEvent, StreamCloseEvent } from '@libp2p/interface'

/**
 * While paused we stop granting yamux window, but up to a whole window (16 MiB at most) may already be on its way:
 * the stream must hold it rather than reset itself at its default 4 MiB read buffer.
 */
const PAUSED_READ_LIMIT = 16 * 1024 * 1024 + 256 * 1024

export function streamToDuplex (stream: Stream): Duplex {
  // 'message' events straight into the Readable (the stream's async iterator adds a pushable and a generator per
  // chunk, and buffers without bound); pause() when Node's buffer is full withholds the window from the sender.
  let paused = false
  stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, PAUSED_READ_LIMIT)
  const duplex = new Duplex({
    read () {
      if (!paused) return
      paused = false
      if (stream.readStatus === 'paused') stream.resume()
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
  stream.addEventListener('message', (evt: StreamMessageEvent) => {
    const data = evt.data
    if (!duplex.push(data instanceof Uint8Array ? data : data.subarray()) && !paused && stream.readStatus === 'readable') {
      paused = true
      stream.pause()
    }
  })
  // 'end' comes once the remote closed its side and everything it sent was delivered; a clean 'close' is always
  // preceded by it, so only an error needs handling there.
  stream.addEventListener('end', () => { duplex.push(null) })
  stream.addEventListener('close', (evt: StreamCloseEvent) => { if (evt.error != null) duplex.destroy(evt.error) })
  // A write after the peer closed or reset fails; whoever reads or writes the stream hears of it (pipe, an
  // iterator, a listener of its own). Without this a failure nobody waits for, such as a last refusal written to a
  // stream the peer just reset, would be an unhandled 'error' and end the whole cell.
  duplex.on('error', () => {})
  return duplex
}
