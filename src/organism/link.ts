// The peer link as the organism sees it (a port a simulator can fake), and opening the real one: libp2p, with the
// membership this cell saved last time, founding or joining as the options say.
import { join as joinPath } from 'node:path'
import { createPeerNode, loadOrCreateIdentity } from '../peers/index.ts'
import type { Admission, PeerNode } from '../peers/index.ts'
import type { Signer } from '../state/index.ts'
import { loadSaved } from './membership-file.ts'
import { organismError } from './errors.ts'
import { stateSigner } from './identity.ts'

/** What the organism needs of the peer network: who the members are, and one-way and request messages to them. */
export type OrganismLink = Pick<PeerNode, 'peerId' | 'addrs' | 'members' | 'admissions' | 'onMember' | 'publish' | 'subscribe' | 'handle' | 'request' | 'send' | 'listen'>

export interface OpenLinkOptions {
  stateDir: string
  organism: string
  /** libp2p listen multiaddrs. */
  listen: string[]
  join?: { address?: string, token: string }
  timeoutMs?: number
}

export interface OpenedLink {
  readonly node: PeerNode
  /** True when this cell founded the organism now, or runs alone as its only member. */
  readonly founding: boolean
  /** The cell's key as the signer of its state records. */
  readonly signer: Signer
  readonly membershipFile: string
}

/** Starts the peer node: resumes the saved membership, founds a new organism, or joins with a token. */
export async function openPeerLink (opts: OpenLinkOptions): Promise<OpenedLink> {
  const membershipFile = joinPath(opts.stateDir, 'organism.json')
  const saved = await loadSaved(membershipFile)
  if (opts.join != null && saved != null && saved.organism === opts.organism && saved.admissions.length > 0) {
    throw organismError('ORGANISM_JOIN_CONFLICT', `${opts.stateDir} already holds a member of organism ${saved.organism}`)
  }
  const identityFile = joinPath(opts.stateDir, 'peer.key')
  const identity = await loadOrCreateIdentity(identityFile)
  const founding = opts.join == null && (saved == null || saved.admissions.length === 0)
  const admissions: Admission[] | undefined = founding ? undefined : saved?.admissions
  const node = await createPeerNode({
    identityFile,
    organism: opts.organism,
    listen: opts.listen,
    found: founding,
    admissions,
    bootstrap: saved?.bootstrap,
    timeoutMs: opts.timeoutMs ?? 30_000
  })
  if (opts.join != null) await node.join(opts.join.address, opts.join.token).catch(async (err: unknown) => { await node.stop(); throw err })
  return { node, founding, signer: stateSigner(node.peerId, identity.privateKey), membershipFile }
}
