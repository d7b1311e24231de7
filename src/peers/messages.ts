// One-way member messages: length-prefixed frames on one long-lived stream per peer and protocol, opened on first
// use and again after it breaks. A request (rpc.ts) opens a stream, negotiates it and waits for an answer each time;
// on a busy host that cost 200 ms one way at the median, and the failure detector's pings rode on it.
import type { Connection, Stream } from '@libp2p/interface'
import { isModuleError } from '../core/errors.ts'
import { peersError } from './errors.ts'
import { concat, frame } from './frame.ts'
import type { RpcContext } from './rpc.ts'

/** Bytes a channel may hold unsent before new messages are refused rather than queued (a stalled peer). */
const MAX_QUEUED_BYTES = 1024 * 1024
const OPEN_TIMEOUT_MS = 5000

export interface MessageSender {
  /** Queues one message on the peer's channel; rejects (nothing queued) when it cannot be sent now. */
  send: (to: string, protocol: string, body: Uint8Array) => Promise<void>
  /** Channels open or opening. */
  size: () => number
  close: () => void
}

export function createMessageSender (ctx: RpcContext, open: (to: string, protocol: string, signal: AbortSignal) => Promise<Stream>): MessageSender {
  const channels = new Map<string, Promise<Stream>>()
  const channel = (to: string, protocol: string): Promise<Stream> => {
    const key = `${to} ${protocol}`
    let opening: Promise<Stream> | undefined = channels.get(key)
    if (opening == null) {
      const forget = (): void => { if (channels.get(key) === opening) channels.delete(key) }
      // Opening is bounded more tightly than a request: messages to a cut-off peer wait on it, and SWIM decides anyway.
      opening = open(to, protocol, AbortSignal.timeout(Math.min(ctx.timeoutMs, OPEN_TIMEOUT_MS))).then((stream) => {
        stream.addEventListener('close', forget)
        // An idle channel costs nothing; libp2p would otherwise abort it after its inactivity timeout.
        stream.inactivityTimeout = 0
        return stream
      })
      opening.catch(forget)
      channels.set(key, opening)
    }
    return opening
  }
  return {
    async send (to, protocol, body) {
      if (!ctx.isMember(to)) throw peersError('PEERS_NOT_MEMBER', `${to} is not a member`)
      if (body.byteLength > ctx.maxBytes) throw peersError('PEERS_MESSAGE_TOO_LARGE', `message of ${body.byteLength} bytes exceeds the ${ctx.maxBytes}-byte limit`)
      // A channel that broke since its last use is opened again, once.
      const key = `${to} ${protocol}`
      for (let attempt = 0; ; attempt++) {
        const opening = channel(to, protocol)
        const stream = await opening.catch((err: unknown) => {
          if (isModuleError(err, 'peers')) throw err
          throw peersError('PEERS_REQUEST_FAILED', `cannot open a channel to ${to} on ${protocol}: ${(err as Error).message}`, { cause: err })
        })
        if (stream.status === 'open' && stream.writeStatus === 'writable') {
          if (stream.writeBufferLength > MAX_QUEUED_BYTES) throw peersError('PEERS_REQUEST_FAILED', `the channel to ${to} has ${stream.writeBufferLength} bytes unsent; message dropped`)
          try {
            stream.send(frame(body))
            return
          } catch (err) {
            if (attempt > 0) throw peersError('PEERS_REQUEST_FAILED', `message to ${to} on ${protocol} failed: ${(err as Error).message}`, { cause: err })
          }
        } else if (attempt > 0) {
          throw peersError('PEERS_REQUEST_FAILED', `the channel to ${to} on ${protocol} is ${stream.status}`)
        }
        stream.abort(new Error('channel replaced'))
        if (channels.get(key) === opening) channels.delete(key)
      }
    },
    size: () => channels.size,
    close () {
      for (const opening of channels.values()) void opening.then((s) => { s.abort(new Error('closed')) }, () => {})
      channels.clear()
    }
  }
}

/**
 * Reads frames from one inbound channel until it ends, handing each to `handler`. A non-member is cut off before a
 * byte is read; an oversized or torn frame ends the channel (the sender opens a new one), never the cell.
 */
export async function serveMessages (ctx: RpcContext, stream: Stream, connection: Connection, handler: (body: Uint8Array, from: string) => void): Promise<void> {
  const from = connection.remotePeer.toString()
  if (!ctx.isMember(from)) {
    ctx.drop('request', from, `not a member (${stream.protocol})`)
    stream.abort(new Error('not a member'))
    return
  }
  stream.inactivityTimeout = 0
  let buf: Uint8Array = new Uint8Array(0)
  try {
    for await (const chunk of stream) {
      const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
      buf = buf.byteLength === 0 ? bytes : concat([buf, bytes], buf.byteLength + bytes.byteLength)
      while (buf.byteLength >= 4) {
        const length = new DataView(buf.buffer, buf.byteOffset, 4).getUint32(0)
        if (length > ctx.maxBytes) throw peersError('PEERS_MESSAGE_TOO_LARGE', `peer announced a ${length}-byte message; the limit is ${ctx.maxBytes}`)
        if (buf.byteLength < 4 + length) break
        const body = buf.slice(4, 4 + length)
        buf = buf.subarray(4 + length)
        try { handler(body, from) } catch (err) { ctx.log.warn('message handler failed', { from, protocol: stream.protocol, err }) }
      }
    }
    if (buf.byteLength > 0) ctx.drop('request', from, `channel on ${stream.protocol} ended inside a frame`)
  } catch (err) {
    ctx.drop('request', from, `bad channel on ${stream.protocol}: ${(err as Error).message}`)
    stream.abort(err as Error)
  }
}
