// Replicated data: a stateful function's data dir is copied, block by block and batch by batch, to a replica cell
// that the ownership store names; a write's answer waits until its changes are on the replica and fsynced there
// (durability: sync), and when the owner's lease is gone the replica takes the function over with the data.
//
//   const replication = createReplication(ports, functions)
//   await replication.start()
//   await replication.commit('forum')   // before answering a write
export { createReplication } from './replication.ts'
export type { Replication, ReplicationOptions } from './replication.ts'
export type { ReplicaPorts, ReplicaStatus, ReplicatedFunction } from './ports.ts'
export { chooseReplica, takeoverAsk } from './choose.ts'
export { replicaError } from './errors.ts'
