// Test helpers for peers: bounded polling, temp dirs, and a raw libp2p node that is no cell at all.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import type { Identify } from '@libp2p/identify'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import type { PrivateKey } from '@libp2p/interface'
import { createPeerNode } from '../../src/peers/index.ts'
import type { PeerNode } from '../../src/peers/index.ts'

/** Polls until cond() is true; fails after `tries` rounds (no wall-clock assertion, only a bound). */
export async function waitFor (what: string, cond: () => boolean | Promise<boolean>, tries = 200, everyMs = 50): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
  throw new Error(`gave up waiting for: ${what}`)
}

export async function tempDir (t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'organism-peers-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

/**
 * A genesis node and one member that joined it with a token; `prepare` runs on genesis before the join (handlers).
 * Both, and anything pushed to `nodes`, stop after the test.
 */
export async function memberPair (t: { after: (fn: () => Promise<void>) => void }, prepare: (genesis: PeerNode) => Promise<void> = async () => {}): Promise<{ genesis: PeerNode, member: PeerNode, nodes: Array<PeerNode | RawNode>, dir: string }> {
  const dir = await tempDir(t)
  const nodes: Array<PeerNode | RawNode> = []
  t.after(async () => { await Promise.all(nodes.map(async (n) => { await n.stop() })) })
  const genesis = await createPeerNode({ identityFile: join(dir, 'g.key'), organism: 'demo', found: true })
  const member = await createPeerNode({ identityFile: join(dir, 'm.key'), organism: 'demo' })
  nodes.push(genesis, member)
  await prepare(genesis)
  await member.join(genesis.addrs()[0], genesis.admitToken(60_000))
  await waitFor('membership on both sides', () => genesis.members().length === 2 && member.members().length === 2)
  return { genesis, member, nodes, dir }
}

export type RawNode = Libp2p<{ identify: Identify, pubsub: GossipSub }>

/** A valid libp2p node with gossipsub and no membrane: what an outsider could run. */
export async function rawNode (privateKey?: PrivateKey): Promise<RawNode> {
  return await createLibp2p({
    ...(privateKey != null ? { privateKey } : {}),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
  })
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s)
export const str = (b: Uint8Array): string => new TextDecoder().decode(b)
