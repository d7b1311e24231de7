// Organism state: signed one-writer records, a pure merge, anti-entropy, SWIM failure detection, and their sync.
//
//   const sync = createStateSync({ transport, signer: ed25519Signer(id, seed), verify, clock: realClock })
//   await sync.start()
//   sync.setOwnRecord({ name: 'a', addrs: { peer: [] }, load: { rps: 0, cpu: 0, memory: 0 }, functions: [], software: '0.1.0', genome: 'abc' })
//   for await (const e of sync.changes(signal)) if (e.type === 'cell-dead') …
export { createStateSync } from './sync.ts'
export type { StateSync, StateSyncInit, StateSyncOptions, StateSyncStats, StateTransport } from './sync.ts'
export { Engine, defaultEngineOptions } from './engine.ts'
export type { EngineOptions, EngineStats, Outgoing, OwnCellBody, PlacementClaim } from './engine.ts'
export { merge, judge, summary, compareSummary, tieRank } from './merge.ts'
export type { Store, Summary, Judgement, MergeOptions } from './merge.ts'
export { digest, diff, asDigest } from './digest.ts'
export type { Digest } from './digest.ts'
export { createDetector, step, livenessOf, takeUpdates, nextDue, defaultSwimOptions } from './swim.ts'
export type { DetectorState, SwimEvent, SwimAction, SwimMsg, SwimOptions, MemberUpdate } from './swim.ts'
export { take } from '../core/bucket.ts'
export type { Bucket, BucketOptions } from '../core/bucket.ts'
export { signRecord, signedBytes, asRecord, cellKey, placementKey, recordSize, DEFAULT_MAX_RECORD_BYTES } from './record.ts'
export { ed25519Signer, ed25519Verify, ed25519KeyPair, fakeSignatureSigner, fakeSignatureVerify } from './sign.ts'
export type { Signer, Verify } from './sign.ts'
export { canonical, canonicalBytes } from './canon.ts'
export { encodeWire, decodeWire, asWire } from './wire.ts'
export type { Wire } from './wire.ts'
export { seededRng } from './rng.ts'
export { stateError } from './errors.ts'
export type * from './types.ts'
