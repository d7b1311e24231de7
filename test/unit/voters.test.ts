// Tending the voter set, against a fake etcd cluster: one voter tends it, learners first, dead voters go.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { tendVoters, votersWanted } from '../../src/organism/voters.ts'
import type { EtcdCluster, EtcdMemberInfo } from '../../src/ownership/index.ts'

function fakeCluster (members: EtcdMemberInfo[]): EtcdCluster & { members: () => Promise<EtcdMemberInfo[]>, list: EtcdMemberInfo[] } {
  let n = 100
  const list = members
  return {
    list,
    members: async () => [...list],
    addLearner: async (peerUrl) => { list.push({ id: String(n++), name: '', peerUrls: [peerUrl], clientUrls: [], learner: true }); return { id: String(n - 1), members: [...list] } },
    promote: async (id) => { const m = list.find((x) => x.id === id); if (m == null) throw new Error('no such member'); m.learner = false },
    remove: async (id) => { list.splice(list.findIndex((x) => x.id === id), 1) },
    close: () => {}
  }
}
const voter = (name: string, id = name): EtcdMemberInfo => ({ id, name, peerUrls: [`https://${name}:2380`], clientUrls: [`https://${name}:2379`], learner: false })
const cells = (spec: Record<string, string>) => () => Object.entries(spec).map(([peer, liveness]) => ({ peer, liveness }))

test('1 voter with 1-2 cells, 3 from 3, 5 from 5', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 9].map(votersWanted), [1, 1, 3, 3, 5, 5])
})

test('the lowest live voter adds the lowest live non-voter as a learner and has it start; only it tends the set', async () => {
  const cluster = fakeCluster([voter('a')])
  const started: string[] = []
  const ports = { cluster, cells: cells({ b: 'alive', c: 'alive' }), prepare: async (peer: string) => ({ peerUrl: `https://${peer}:2380` }), startMember: async (peer: string, initial: string) => { started.push(`${peer} ${initial}`) } }
  assert.equal(await tendVoters({ ...ports, self: 'b' }), 'another voter tends the set')
  assert.equal(await tendVoters({ ...ports, self: 'a' }), 'added b as a learner')
  assert.deepEqual(started, ['b a=https://a:2380,b=https://b:2380'])
  assert.equal(await tendVoters({ ...ports, self: 'a' }), 'removed a learner that never started', 'b never started its etcd')
  await tendVoters({ ...ports, self: 'a' })
  cluster.list.find((m) => m.learner)!.name = 'b'
  assert.equal(await tendVoters({ ...ports, self: 'a' }), 'promoted b')
})

test('a dead voter is removed first; a cell that could not vote is not asked again', async () => {
  const cluster = fakeCluster([voter('a'), voter('b'), voter('c')])
  const base = { self: 'b', cluster, prepare: async (peer: string) => ({ peerUrl: `https://${peer}:2380` }), startMember: async () => {} }
  assert.equal(await tendVoters({ ...base, cells: cells({ a: 'dead', c: 'alive', d: 'alive', e: 'alive' }) }), 'removed dead voter a')
  const r = await tendVoters({ ...base, cells: cells({ a: 'dead', c: 'alive', d: 'alive', e: 'alive' }), avoid: new Set(['d']) })
  assert.equal(r, 'added e as a learner')
  assert.equal(await tendVoters({ ...base, cells: cells({ c: 'suspect' }) }), 'removed a learner that never started', 'a suspect voter is not removed')
})
