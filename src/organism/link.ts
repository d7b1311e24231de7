// The peer link as the organism sees it (a port a simulator can fake), and opening the real one: libp2p, with the
// membership this cell saved last time, founding or joining as the options say.
import { join as joinPath } from 'node:path'
import { readFile } from 'node:fs/promises'
import { logger } from '../core/log.ts'
import { writeFileAtomic } from '../core/atomic-file.ts'
import { createPeerNode, loadOrCreateIdentity } from '../peers/index.ts'
import type { Admission, PeerNode, VerifyExpulsion } from '../peers/index.ts'
import type { Signer } from '../state/index.ts'
import { loadSaved } from './membership-file.ts'
import { organismError } from './errors.ts'
import { stateSigner } from './identity.ts'

const log = logger('organism')

/** What the organism needs of the peer network: who the members are, and one-way and request messages to them. */
export type OrganismLink = Pick<PeerNode, 'peerId' | 'addrs' | 'members' | 'admissions' | 'onMember' | 'publish' | 'subscribe' | 'handle' | 'request' | 'send' | 'listen'> & Partial<Pick<PeerNode, 'expulsions'>>

export interface OpenLinkOptions {
  stateDir: string
  organism: string
  /** Where to listen: an IPv4 address, and a port (null: the one this cell had last time, else a free one). */
  host: string
  port: number | null
  join?: { address?: string, token: string }
  timeoutMs?: number
  /** Checks an operator's expulsion of a member (the genome's keys). */
  verifyExpulsion?: VerifyExpulsion
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
  // The same port as last time by default: the addresses other members saved for this cell stay good across a restart.
  const portFile = joinPath(opts.stateDir, 'peer.port')
  const lastPort = opts.port ?? await readFile(portFile, 'utf8').then((t) => Number(t.trim()), () => 0)
  const open = async (port: number): Promise<PeerNode> => await createPeerNode({
    identityFile,
    organism: opts.organism,
    listen: [`/ip4/${opts.host}/tcp/${port}`],
    found: founding,
    admissions,
    expulsions: saved?.expulsions,
    verifyExpulsion: opts.verifyExpulsion,
    bootstrap: saved?.bootstrap,
    timeoutMs: opts.timeoutMs ?? 30_000
  })
  let node: PeerNode
  try { node = await open(lastPort) } catch (err) {
    // A port of our own choosing that something else took meanwhile: any free one (a port the operator set is kept).
    if (opts.port != null || lastPort === 0) throw err
    log.warn('the peer port of the last run is taken; listening on another', { port: lastPort, err })
    node = await open(0)
  }
  const bound = node.addrs().map((a) => /\/tcp\/(\d+)/.exec(a)?.[1]).find((p) => p != null)
  if (bound != null) await writeFileAtomic(portFile, `${bound}\n`, 0o644).catch(() => {})
  if (opts.join != null) await node.join(opts.join.address, opts.join.token).catch(async (err: unknown) => { await node.stop(); throw err })
  return { node, founding, signer: stateSigner(node.peerId, identity.privateKey), membershipFile }
}
