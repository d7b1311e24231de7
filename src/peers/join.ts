// The join handshake on /organism/join/1.0.0: a stranger presents a token, a member answers with its signed admission.
import type { Stream, Connection, PrivateKey } from '@libp2p/interface'
import { parseAdmission, signAdmission } from './admission.ts'
import type { Admission } from './admission.ts'
import { peersError } from './errors.ts'
import { errorResponse, okResponse, parseResponse, readFrame, writeFrame } from './frame.ts'
import type { Membership } from './membership.ts'
import type { TokenBook } from './tokens.ts'
import type { OrganismError } from '../core/errors.ts'

export const JOIN_PROTOCOL = '/organism/join/1.0.0'
/** A join request is a token secret and a name: a few hundred bytes; anything bigger is not a join. */
export const MAX_JOIN_REQUEST = 4096
const TOKEN_CODES = new Set(['PEERS_TOKEN_INVALID', 'PEERS_TOKEN_USED', 'PEERS_TOKEN_EXPIRED', 'PEERS_NOT_MEMBER'])

export interface JoinAnswer {
  founding: Admission
  records: Admission[]
  /** Known listen addresses of other members, so the newcomer can connect beyond its sponsor. */
  addrs: Record<string, string[]>
}

export interface MemberSide {
  organism: string
  selfId: string
  privateKey: PrivateKey
  membership: Membership
  tokens: TokenBook
  now: () => number
  maxMessageBytes: number
  timeoutMs: number
  addrsOf: (peerId: string) => Promise<string[]>
  /** Spreads a fresh admission to the other members (gossip). */
  announce: (record: Admission, addrs: string[]) => Promise<void>
  drop: (kind: 'join', peerId: string, reason: string) => void
}

/** Member side: runs for any peer, member or not; the only organism protocol a stranger may open. */
export async function answerJoin (side: MemberSide, stream: Stream, connection: Connection): Promise<void> {
  const from = connection.remotePeer
  const signal = AbortSignal.timeout(side.timeoutMs)
  let request: { organism?: unknown, secret?: unknown, addrs?: unknown }
  try {
    request = JSON.parse(new TextDecoder().decode(await readFrame(stream, MAX_JOIN_REQUEST, signal)))
  } catch (err) {
    side.drop('join', from.toString(), `malformed join request: ${(err as Error).message}`)
    stream.abort(err as Error)
    return
  }
  let answer: Uint8Array
  try {
    if (request == null || typeof request.secret !== 'string' || request.organism !== side.organism) throw peersError('PEERS_TOKEN_INVALID', 'join request names another organism or carries no token')
    if (!side.membership.has(side.selfId)) throw peersError('PEERS_NOT_MEMBER', 'this cell is not a member and cannot admit anyone')
    if (from.type !== 'Ed25519') throw peersError('PEERS_TOKEN_INVALID', 'only ed25519 peer ids may join')
    // The token is consumed before signing: a failure after this point costs the joiner a new token, never a double use.
    side.tokens.redeem(request.secret, side.now())
    const record = await signAdmission(side.privateKey, { organism: side.organism, peerId: from.toString(), admittedBy: side.selfId, issuedAt: side.now() })
    const added = await side.membership.add(record)
    if (!added.ok) throw peersError('PEERS_ADMISSION_INVALID', `own admission failed verification: ${added.reason}`)
    // The newcomer's listen addresses ride along with its admission, so members can reach it at once.
    const addrs = Array.isArray(request.addrs) ? request.addrs.filter((a): a is string => typeof a === 'string' && a.length < 512).slice(0, 8) : []
    void side.announce(record, addrs).catch(() => {})
    const records = side.membership.records()
    const known: Record<string, string[]> = {}
    for (const r of records) if (r.peerId !== from.toString() && r.peerId !== side.selfId) known[r.peerId] = await side.addrsOf(r.peerId)
    answer = okResponse(new TextEncoder().encode(JSON.stringify({ founding: records[0], records: records.slice(1), addrs: known } satisfies JoinAnswer)))
  } catch (err) {
    const e = err as OrganismError
    side.drop('join', from.toString(), `${e.code ?? 'error'}: ${e.message}`)
    answer = errorResponse(typeof e.code === 'string' ? e.code : 'PEERS_JOIN_FAILED', e.message)
  }
  try {
    await writeFrame(stream, answer, side.maxMessageBytes + 1, signal)
  } catch (err) {
    stream.abort(err as Error)
  }
}

/** Joiner side: sends the secret on an open stream and returns the verified-shape answer (membership checks it next). */
export async function askToJoin (stream: Stream, organism: string, secret: string, addrs: string[], maxMessageBytes: number, signal: AbortSignal): Promise<JoinAnswer> {
  await writeFrame(stream, new TextEncoder().encode(JSON.stringify({ organism, secret, addrs: addrs.slice(0, 8) })), MAX_JOIN_REQUEST, signal)
  const response = parseResponse(await readFrame(stream, maxMessageBytes + 1, signal))
  if (!response.ok) {
    const code = TOKEN_CODES.has(response.code) ? response.code as Parameters<typeof peersError>[0] : 'PEERS_JOIN_FAILED'
    throw peersError(code, `member refused the join: ${response.message}`, { details: { remoteCode: response.code } })
  }
  let v: { founding?: unknown, records?: unknown, addrs?: unknown }
  try {
    v = JSON.parse(new TextDecoder().decode(response.body))
  } catch {
    throw peersError('PEERS_JOIN_FAILED', 'join answer is not JSON')
  }
  const founding = parseAdmission(v.founding)
  if (founding == null || !Array.isArray(v.records)) throw peersError('PEERS_JOIN_FAILED', 'join answer lacks the founding record')
  const records: Admission[] = []
  for (const r of v.records) {
    const parsed = parseAdmission(r)
    if (parsed != null) records.push(parsed)
  }
  const known: Record<string, string[]> = {}
  if (v.addrs != null && typeof v.addrs === 'object') {
    for (const [id, list] of Object.entries(v.addrs as Record<string, unknown>)) {
      if (Array.isArray(list)) known[id] = list.filter((a): a is string => typeof a === 'string').slice(0, 8)
    }
  }
  return { founding, records, addrs: known }
}
