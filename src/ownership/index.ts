// Who owns which function, decided by a store and not by any member's say: one record per function, changed only by
// the transitions of rules.ts (found, hand-off, complete, abort, takeover when the owner's lease is gone), each
// applied atomically by the store. A cell alone keeps them in a local file; an organism of several cells in etcd.
//
//   const store = await openLocalStore(join(stateDir, 'ownership.json'))     // or openEtcdStore({ endpoints, organism })
//   await store.apply('forum', { kind: 'found', by: self })
//   const lease = await store.lease(self, 3000); lease.mayServe(Date.now())
//   await store.apply('forum', { kind: 'handoff', by: self, epoch: 1, to: other })
export { transition, mayServe } from './rules.ts'
export type { Ownership, Transition, Verdict } from './types.ts'
export type { OwnershipStore, CellLease, TransitionRequest, ApplyOptions } from './store.ts'
export { openLocalStore } from './local.ts'
export { createStoreView } from './view.ts'
export type { OwnershipView, StoreView, StoreViewOptions, ViewProofs } from './view.ts'
export { refuseStep, signRecord, recordBytes } from './proof.ts'
export type { RecordSigner, RecordVerify } from './proof.ts'
export { openEtcdStore, waitUntilAnswers } from './etcd.ts'
export type { EtcdStoreOptions } from './etcd.ts'
export { startEtcd, findEtcd } from './etcd-process.ts'
export type { EtcdMember, EtcdProcess } from './etcd-process.ts'
export { ownershipError } from './errors.ts'
export { createStoreCa, createMemberKey, issueMemberCert, signedBy } from './certs.ts'
export type { Pem } from './certs.ts'
export { openEtcdCluster } from './etcd-cluster.ts'
export type { EtcdCluster, EtcdMemberInfo } from './etcd-cluster.ts'
