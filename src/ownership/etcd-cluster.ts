// The etcd cluster's membership (who votes): list the members, add one (as a learner, or a voter), promote a learner
// once it has caught up, remove a dead one. A learner never counts for the majority, so one that never starts
// harms nothing; etcd 3.4 allows one learner at a time.
import { Etcd3 } from 'etcd3'
import { ownershipError } from './errors.ts'

export interface EtcdMemberInfo { id: string, name: string, peerUrls: string[], clientUrls: string[], learner: boolean }

export interface EtcdCluster {
  members: () => Promise<EtcdMemberInfo[]>
  /** Adds a member: a learner (counts for nothing until promoted), or a voter at once. */
  add: (peerUrl: string, learner: boolean) => Promise<{ id: string, members: EtcdMemberInfo[] }>
  promote: (id: string) => Promise<void>
  remove: (id: string) => Promise<void>
  close: () => void
}

export function openEtcdCluster (o: { endpoints: string[], tls?: { ca: Buffer, cert: Buffer, key: Buffer }, timeoutMs?: number }): EtcdCluster {
  const client = new Etcd3({
    hosts: o.endpoints,
    credentials: o.tls == null ? undefined : { rootCertificate: o.tls.ca, certChain: o.tls.cert, privateKey: o.tls.key },
    defaultCallOptions: (ctx) => ctx.isStream ? {} : { deadline: Date.now() + (o.timeoutMs ?? 3000) }
  })
  const call = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    try { return await work() } catch (err) { throw ownershipError('OWNERSHIP_UNAVAILABLE', `etcd could not ${what}: ${(err as Error).message}`, { cause: err }) }
  }
  const asInfo = (m: { ID: string, name: string, peerURLs: string[], clientURLs: string[], isLearner?: boolean }): EtcdMemberInfo =>
    ({ id: m.ID, name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs, learner: m.isLearner === true })
  return {
    members: async () => await call('list its members', async () => (await client.cluster.memberList({})).members.map(asInfo)),
    add: async (peerUrl, learner) => await call('add a member', async () => {
      const r = await client.cluster.memberAdd({ peerURLs: [peerUrl], isLearner: learner })
      return { id: r.member.ID, members: r.members.map(asInfo) }
    }),
    promote: async (id) => { await call('promote a member', async () => await client.cluster.memberPromote({ ID: id })) },
    remove: async (id) => { await call('remove a member', async () => await client.cluster.memberRemove({ ID: id })) },
    close: () => { client.close() }
  }
}
