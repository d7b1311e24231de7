// The peer network: identity, admission, join tokens and the membrane around a js-libp2p node.
//
//   const genesis = await createPeerNode({ identityFile: 'state/peer.key', organism: 'demo', found: true })
//   const token = genesis.admitToken(10 * 60_000)
//   const cell = await createPeerNode({ identityFile: 'other/peer.key', organism: 'demo' })
//   await cell.join(genesis.addrs()[0], token)
//   cell.subscribe('state', (data, from) => { ... }); await genesis.publish('state', bytes)
export { createPeerNode } from './node.ts'
export type { PeerNode, PeerNodeOptions, PeerStats, RequestHandler, StreamHandler, TopicHandler } from './types.ts'
export { loadOrCreateIdentity } from './identity.ts'
export type { Identity } from './identity.ts'
export { signAdmission, verifyAdmission, closeMembership, parseAdmission, canonicalAdmission, rootOf } from './admission.ts'
export type { Admission, Verdict, Closure, ClosureOptions } from './admission.ts'
export { Membership } from './membership.ts'
export type { MembershipChange, MembershipOptions } from './membership.ts'
export { expulsionFacts } from './expulsion.ts'
export type { Expulsion, ExpulsionFacts, VerifyExpulsion } from './expulsion.ts'
export { TokenBook, encodeToken, decodeToken } from './tokens.ts'
export type { JoinToken } from './tokens.ts'
export { JOIN_PROTOCOL } from './join.ts'
export { DEFAULT_MAX_MESSAGE_BYTES } from './frame.ts'
export { peersError } from './errors.ts'
