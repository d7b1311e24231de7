// Members-only request/response: one length-prefixed frame each way on a fresh libp2p stream.
import type { Connection, Stream } from '@libp2p/interface'
import type { Logger } from '../core/log.ts'
import { isModuleError } from '../core/errors.ts'
import { peersError } from './errors.ts'
import { errorResponse, okResponse, parseResponse, readFrame, writeFrame } from './frame.ts'
import type { RequestHandler } from './types.ts'

export interface RpcContext {
  isMember: (peerId: string) => boolean
  maxBytes: number
  timeoutMs: number
  log: Logger
  drop: (kind: 'request', from: string, reason: string) => void
}

/** Serves one inbound stream: a non-member is cut off before a byte is read; bad input is dropped, never thrown. */
export async function serveRequest (ctx: RpcContext, stream: Stream, connection: Connection, handler: RequestHandler): Promise<void> {
  const from = connection.remotePeer.toString()
  if (!ctx.isMember(from)) {
    ctx.drop('request', from, `not a member (${stream.protocol})`)
    stream.abort(new Error('not a member'))
    return
  }
  const signal = AbortSignal.timeout(ctx.timeoutMs)
  let payload: Uint8Array
  try {
    payload = await readFrame(stream, ctx.maxBytes, signal)
  } catch (err) {
    ctx.drop('request', from, `malformed request on ${stream.protocol}: ${(err as Error).message}`)
    stream.abort(err as Error)
    return
  }
  let answer: Uint8Array
  try {
    answer = okResponse(await handler(payload, from))
  } catch (err) {
    const e = err as { code?: unknown, message?: unknown }
    answer = errorResponse(typeof e.code === 'string' ? e.code : 'PEERS_REQUEST_FAILED', typeof e.message === 'string' ? e.message : String(err))
  }
  try {
    // +1: the status byte in front of a maximal answer.
    await writeFrame(stream, answer, ctx.maxBytes + 1, signal)
  } catch (err) {
    ctx.log.warn('could not answer request', { from, protocol: stream.protocol, err })
    stream.abort(err as Error)
  }
}

/** Sends one request on an opened stream and returns the answer body, or throws PEERS_REQUEST_FAILED with the remote code. */
export async function sendRequest (ctx: RpcContext, open: (signal: AbortSignal) => Promise<Stream>, to: string, protocol: string, body: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
  if (!ctx.isMember(to)) throw peersError('PEERS_NOT_MEMBER', `${to} is not a member`)
  if (body.byteLength > ctx.maxBytes) throw peersError('PEERS_MESSAGE_TOO_LARGE', `request of ${body.byteLength} bytes exceeds the ${ctx.maxBytes}-byte limit`)
  const bounded = AbortSignal.any([AbortSignal.timeout(ctx.timeoutMs), ...(signal != null ? [signal] : [])])
  let response
  let stream: Stream | undefined
  try {
    stream = await open(bounded)
    await writeFrame(stream, body, ctx.maxBytes, bounded)
    response = parseResponse(await readFrame(stream, ctx.maxBytes + 1, bounded))
  } catch (err) {
    // A stream left open after a timeout lingers on its connection (and counts against its stream limit).
    stream?.abort(err as Error)
    if (isModuleError(err, 'peers')) throw err
    throw peersError('PEERS_REQUEST_FAILED', `request to ${to} on ${protocol} failed: ${(err as Error).message}`, { cause: err })
  }
  if (!response.ok) throw peersError('PEERS_REQUEST_FAILED', `${to} answered ${response.code}: ${response.message}`, { details: { remoteCode: response.code } })
  return response.body
}
