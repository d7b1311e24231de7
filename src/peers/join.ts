// The join handshake on /organism/join/1.0.0: a stranger presents a token, a member answers with its signed admission.
// A member (or a cell whose admissions lapsed lately) asks on the same protocol for a renewal: no token, its peer id
// proven by Noise.
import type { Stream, Connection, PrivateKey } from '@libp2p/interface'
import { parseAdmission, signAdmission } from './admission.ts'
import type { Admission } from './admission.ts'
import type { Expulsion } from './expulsion.ts'
import { peersError } from './errors.ts'
import { errorResponse, okResponse, parseResponse, readFrame, writeFrame } from './frame.ts'
import type { Membership } from './membership.ts'
import type { TokenBook } from './tokens.ts'
import type { OrganismError } from '../core/errors.ts'

export const JOIN_PROTOCOL = '/organism/join/1.0.0'
/** A join request is a token secret and a name: a few hundred bytes; anything bigger is not a join. */
export const MAX_JOIN_REQUEST = 4096
const TOKEN_CODES = new Set(['PEERS_TOKEN_INVALID', 'PEERS_TOKEN_USED', 'PEERS_TOKEN_EXPIRED', 'PEERS_NOT_MEMBER', 'PEERS_EXPELLED'])

export interface JoinAnswer {
  founding: Admission
  records: Admission[]
  /** Known listen addresses of other members, so the newcomer can connect beyond its sponsor. */
  addrs: Record<string, string[]>
  /** Operators' expulsions: the newcomer checks each itself. */
  expulsions: unknown[]
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
  expulsions: () => Expulsion[]
  /** A renewal this member signed for a cell less long ago than this is handed out again instead of a new one. */
  renewReuseMs: number
}

/** Member side: runs for any peer, member or not; the only organism protocol a stranger may open. */
export async function answerJoin (side: MemberSide, stream: Stream, connection: Connection): Promise<void> {
  const from = connection.remotePeer
  const signal = AbortSignal.timeout(side.timeoutMs)
  let request: { organism?: unknown, secret?: unknown, addrs?: unknown, renew?: unknown }
  try {
    request = JSON.parse(new TextDecoder().decode(await readFrame(stream, MAX_JOIN_REQUEST, signal)))
  } catch (err) {
    side.drop('join', from.toString(), `malformed join request: ${(err as Error).message}`)
    stream.abort(err as Error)
    return
  }
  let answer: Uint8Array
  try {
    if (request?.organism !== side.organism) throw peersError('PEERS_TOKEN_INVALID', 'join request names another organism')
    if (!side.membership.has(side.selfId)) throw peersError('PEERS_NOT_MEMBER', 'this cell is not a member and cannot admit anyone')
    if (side.membership.isExpelled(from.toString())) throw peersError('PEERS_EXPELLED', `${from.toString()} was expelled from the organism`)
    if (request.renew === true) answer = okResponse(new TextEncoder().encode(JSON.stringify({ admission: await renew(side, from.toString()) })))
    else answer = await admit(side, request, from)
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

/** A renewal: a fresh admission of a member (or of a cell lapsed less than one ttl ago) signed by this member. */
async function renew (side: MemberSide, from: string): Promise<Admission> {
  const m = side.membership
  if (from === side.selfId) throw peersError('PEERS_TOKEN_INVALID', 'a cell cannot renew itself')
  if (!m.has(from) && m.lapsedAt(from) == null) throw peersError('PEERS_NOT_MEMBER', `${from} is not a member (or its admissions lapsed too long ago): it must join again with a new token`)
  const mine = [...m.recordsOf(from), ...(m.lapsedRecords(from))].find((r) => r.admittedBy === side.selfId)
  if (mine != null && side.now() - mine.issuedAt < side.renewReuseMs) return mine
  const record = await signAdmission(side.privateKey, { organism: side.organism, peerId: from, admittedBy: side.selfId, issuedAt: side.now() })
  const added = await m.add(record)
  if (!added.ok) throw peersError('PEERS_ADMISSION_INVALID', `own renewal failed verification: ${added.reason}`)
  void side.announce(record, []).catch(() => {})
  return record
}

async function admit (side: MemberSide, request: { secret?: unknown, addrs?: unknown }, from: Connection['remotePeer']): Promise<Uint8Array> {
  if (typeof request.secret !== 'string') throw peersError('PEERS_TOKEN_INVALID', 'join request carries no token')
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
  return okResponse(new TextEncoder().encode(JSON.stringify({ founding: records[0], records: records.slice(1), addrs: known, expulsions: side.expulsions() } satisfies JoinAnswer)))
}

/** One request on the join protocol; a member's refusal becomes its token code (or PEERS_JOIN_FAILED). */
async function ask (stream: Stream, request: object, what: 'join' | 'renewal', maxMessageBytes: number, signal: AbortSignal): Promise<{ ok: true, body: Uint8Array }> {
  await writeFrame(stream, new TextEncoder().encode(JSON.stringify(request)), MAX_JOIN_REQUEST, signal)
  const response = parseResponse(await readFrame(stream, maxMessageBytes + 1, signal))
  if (response.ok) return response
  const code = TOKEN_CODES.has(response.code) ? response.code as Parameters<typeof peersError>[0] : 'PEERS_JOIN_FAILED'
  throw peersError(code, `member refused the ${what}: ${response.message}`, { details: { remoteCode: response.code } })
}

/** Joiner side: sends the secret on an open stream and returns the verified-shape answer (membership checks it next). */
export async function askToJoin (stream: Stream, organism: string, secret: string, addrs: string[], maxMessageBytes: number, signal: AbortSignal): Promise<JoinAnswer> {
  const response = await ask(stream, { organism, secret, addrs: addrs.slice(0, 8) }, 'join', maxMessageBytes, signal)
  let v: { founding?: unknown, records?: unknown, addrs?: unknown, expulsions?: unknown }
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
  return { founding, records, addrs: known, expulsions: Array.isArray(v.expulsions) ? v.expulsions.slice(0, 10_000) : [] }
}

/** A member's renewal of the asker's admission (the asker adds it to its membership, which checks it). */
export async function askToRenew (stream: Stream, organism: string, maxMessageBytes: number, signal: AbortSignal): Promise<Admission> {
  const response = await ask(stream, { organism, renew: true }, 'renewal', maxMessageBytes, signal)
  let v: { admission?: unknown }
  try { v = JSON.parse(new TextDecoder().decode(response.body)) } catch { v = {} }
  const admission = parseAdmission(v.admission)
  if (admission == null) throw peersError('PEERS_JOIN_FAILED', 'renewal answer holds no admission')
  return admission
}
