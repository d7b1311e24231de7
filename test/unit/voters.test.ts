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
    add: async (peerUrl, learner) => { list.push({ id: String(n++), name: '', peerUrls: [peerUrl], clientUrls: [], learner }); return { id: String(n - 1), members: [...list] } },
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

test('1 -> 3: a learner, promoted once caught up, and at once a third that votes from the start; only the lowest live voter tends', async () => {
  const cluster = fakeCluster([voter('a')])
  const started: string[] = []
  const ports = { cluster, cells: cells({ b: 'alive', c: 'alive' }), prepare: async (peer: string) => ({ peerUrl: `https://${peer}:2380` }), startMember: async (peer: string, initial: string) => { started.push(`${peer} ${initial}`); cluster.list.find((m) => m.name === '')!.name = peer } }
  assert.equal(await tendVoters({ ...ports, self: 'b' }), 'another voter tends the set')
  assert.equal(await tendVoters({ ...ports, self: 'a' }), 'added b as a learner')
  assert.deepEqual(started, ['b a=https://a:2380,b=https://b:2380'])
  assert.equal(await tendVoters({ ...ports, self: 'a' }), 'promoted b, added c as a voter', 'never left at two voters')
  assert.deepEqual(cluster.list.map((m) => `${m.name}:${m.learner ? 'learner' : 'voter'}`), ['a:voter', 'b:voter', 'c:voter'])
  assert.equal(await tendVoters({ ...ports, self: 'a' }), 'enough voters')
})

test('a learner that never started is removed; a dead voter goes only once its replacement votes', async () => {
  const cluster = fakeCluster([voter('a'), voter('b'), voter('c')])
  const base = { self: 'b', cluster, prepare: async (peer: string) => ({ peerUrl: `https://${peer}:2380` }), startMember: async () => {} }
  const view = cells({ a: 'dead', c: 'alive', d: 'alive', e: 'alive' })
  assert.equal(await tendVoters({ ...base, cells: view, avoid: new Set(['d']) }), 'added e as a learner', 'd could not vote lately: e is asked')
  assert.equal(await tendVoters({ ...base, cells: view }), 'removed a learner that never started')
  assert.equal(await tendVoters({ ...base, cells: view }), 'added d as a learner')
  cluster.list.find((m) => m.name === '')!.name = 'd'
  assert.equal(await tendVoters({ ...base, cells: view }), 'promoted d')
  assert.equal(await tendVoters({ ...base, cells: view }), 'removed dead voter a')
  assert.deepEqual(cluster.list.map((m) => m.name).sort(), ['b', 'c', 'd'])
  assert.equal(await tendVoters({ ...base, cells: cells({ c: 'suspect', d: 'alive', e: 'alive' }) }), 'enough voters', 'a suspect voter is not removed')
})

test('three cells, one dead: its voter stays (two of three are a majority; two of two would not be), and votes again when back', async () => {
  const cluster = fakeCluster([voter('a'), voter('b'), voter('c')])
  const base = { self: 'a', cluster, prepare: async (peer: string) => ({ peerUrl: `https://${peer}:2380` }), startMember: async () => {} }
  assert.equal(await tendVoters({ ...base, cells: cells({ b: 'alive', c: 'dead' }) }), 'enough voters')
  assert.deepEqual(cluster.list.map((m) => m.name).sort(), ['a', 'b', 'c'])
  assert.equal(await tendVoters({ ...base, cells: cells({ b: 'alive', c: 'alive' }) }), 'enough voters')
})
