// The organism's ownership store as one cell runs it. A cell alone keeps a local file. When a second member appears,
// the holder makes the organism's CA, starts etcd with mutual TLS beside its state, and copies the records into it;
// every other member asks the holder, over the member link, to sign its own public key and learns the endpoint.
// What a cell learned is saved, so a restart (also of every cell at once) finds the same store again.
import { encodeJson as encode, decodeJson as decode } from '../core/json-bytes.ts'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { logger } from '../core/log.ts'
import type { Startable } from '../core/lifecycle.ts'
import { writeFileAtomic } from '../core/atomic-file.ts'
import { freePort } from '../core/free-port.ts'
import { openLocalStore, openEtcdStore, openEtcdCluster, waitUntilAnswers, startEtcd, createStoreCa, createMemberKey, issueMemberCert, ownershipError } from '../ownership/index.ts'
import { tendVoters } from './voters.ts'
import { shortId } from '../placement/index.ts'
import { createStoreView } from '../ownership/index.ts'
import type { OwnershipStore, EtcdProcess, Pem, OwnershipView, ViewProofs } from '../ownership/index.ts'
import type { Scheduler } from '../core/clock.ts'
import type { OrganismLink } from './link.ts'

const log = logger('store')

/** What a cell remembers of its store between runs: its part (the first voter, a later voter, a client), every
 *  voter's client URL, and where its own etcd listens if it runs one. */
interface StoreFile { role: 'holder' | 'voter' | 'client', holder: string, endpoints: string[], clientPort?: number, peerPort?: number, own?: string }
const runsEtcd = (s: StoreFile | null): boolean => s?.role === 'holder' || s?.role === 'voter'

export interface StoreStatus { kind: 'local' | 'etcd' | 'joining', role: 'alone' | 'holder' | 'voter' | 'client', holder: string | null, endpoints: string[], problem?: string }

export interface OrganismStoreOptions {
  stateDir: string
  organism: string
  link: Pick<OrganismLink, 'peerId' | 'members' | 'onMember' | 'handle' | 'request'>
  protocol: string
  /** The address members reach this cell at, and where its etcd listens (all interfaces by default). */
  advertise: string
  bindHost?: string
  clock: Scheduler
  /** The organism's cells as this cell sees them (who is alive: voters are added and removed by it). */
  cells?: () => ReadonlyArray<{ peer: string, liveness: string }>
  /** This cell's lease TTL in the store: how soon after its death another cell may take its functions (default 3 s). */
  leaseTtlMs?: number
  /** Records signed by their owners and checked by every reader (ownership/proof.ts). */
  proofs?: ViewProofs
}

export interface OrganismStore extends Startable {
  /** The store in use now (the local one until a second member appears). */
  current: () => OwnershipStore
  /** This cell's view of it: records, changes, its lease; the same object across the move to etcd. */
  readonly view: OwnershipView
  status: () => StoreStatus
  /** Resolves once a second member made this cell upgrade to etcd, or it joined one (tests, status). */
  upgraded: () => Promise<void>
}

interface AccessRequest { kind?: 'access', publicKey: string, ips: string[] }
/** A voter asks a cell to get ready to vote, then to start its etcd as a member of the cluster. */
type VoterRequest = { kind: 'prepare' } | { kind: 'start', initialCluster: string, ca: Pem }
type AccessAnswer = { ok: true, ca: string, cert: string, endpoints: string[], holder: string } | { ok: false, holder: string | null }


export function createOrganismStore (o: OrganismStoreOptions): OrganismStore {
  const dir = join(o.stateDir, 'store')
  const files = { saved: join(dir, 'store.json'), ca: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), cert: join(dir, 'member.crt'), key: join(dir, 'member.key'), local: join(o.stateDir, 'ownership.json') }
  const self = o.link.peerId
  const view = createStoreView({ self, clock: o.clock, leaseTtlMs: o.leaseTtlMs, proofs: o.proofs })
  let store: OwnershipStore | null = null
  const use = async (next: OwnershipStore): Promise<void> => { store = next; await view.attach(next) }
  let etcd: EtcdProcess | null = null
  let saved: StoreFile | null = null
  let offMember: (() => void) | null = null
  let upgrading: Promise<void> | null = null
  let joining: Promise<void> | null = null
  let problem: string | undefined
  let stopped = false
  let pending: { clientPort: number, peerPort: number } | null = null
  let stopLooking: (() => void) | null = null
  let markUpgraded!: () => void
  const upgradedP = new Promise<void>((resolve) => { markUpgraded = resolve })

  const readSaved = async (): Promise<StoreFile | null> => { try { return JSON.parse(await readFile(files.saved, 'utf8')) as StoreFile } catch { return null } }
  const tlsOf = async (): Promise<{ ca: Buffer, cert: Buffer, key: Buffer }> => ({ ca: await readFile(files.ca), cert: await readFile(files.cert), key: await readFile(files.key) })
  const memberCert = async (ca: Pem): Promise<void> => {
    const mine = await createMemberKey()
    await writeFile(files.key, mine.key, { mode: 0o600 })
    await writeFile(files.cert, await issueMemberCert(ca, { peerId: self, publicKey: mine.publicKey, ips: [o.advertise] }))
  }

  const runEtcd = async (s: StoreFile, asMember?: { initialCluster: string }): Promise<OwnershipStore> => {
    const host = o.bindHost ?? '0.0.0.0'
    etcd = await startEtcd({
      name: self, dataDir: join(dir, 'etcd'),
      clientUrl: `https://${host}:${s.clientPort}`, advertiseClientUrl: s.own ?? s.endpoints[0], peerUrl: `https://${o.advertise}:${s.peerPort}`,
      tls: { caFile: files.ca, certFile: files.cert, keyFile: files.key },
      ...asMember != null ? { initialCluster: asMember.initialCluster, state: 'existing' as const } : {}
    })
    return await openEtcdStore({ endpoints: s.endpoints, organism: o.organism, tls: await tlsOf() })
  }
  const save = async (next: StoreFile): Promise<void> => { await writeFileAtomic(files.saved, JSON.stringify(next, null, 1), 0o600); saved = next }

  /** The holder's move from the local file to etcd: CA, certificate, etcd, then every record copied over. */
  const upgrade = async (): Promise<void> => {
    const local = store
    if (local == null || local.kind !== 'local' || stopped) return
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const ca = await createStoreCa(o.organism)
    await writeFile(files.caKey, ca.key, { mode: 0o600 })
    await writeFile(files.ca, ca.cert)
    await memberCert(ca)
    const clientPort = await freePort(o.bindHost ?? '0.0.0.0')
    const peerPort = await freePort(o.bindHost ?? '0.0.0.0')
    const own = `https://${o.advertise}:${clientPort}`
    const next: StoreFile = { role: 'holder', holder: self, endpoints: [own], clientPort, peerPort, own }
    const remote = await runEtcd(next)
    await waitUntilAnswers(remote)
    for (const r of await local.list()) await remote.seed(r)
    await save(next)
    await use(remote)
    await local.close()
    log.info('the organism has a second member: ownership moved to etcd', { endpoint: next.endpoints[0] })
    markUpgraded()
  }

  /** A member's first start in an organism whose holder runs etcd: get a certificate for our key, then connect. */
  const joinStore = async (): Promise<OwnershipStore> => {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const mine = await createMemberKey()
    // Any voter can sign; a member that is not one names the first voter, which is asked first from then on.
    let hinted: string | null = null
    for (;;) {
      if (stopped) throw ownershipError('OWNERSHIP_UNAVAILABLE', 'the cell stopped before it got access to the ownership store')
      const others = o.link.members().filter((m) => m !== self)
      const first = hinted
      const ask: string[] = first != null && others.includes(first) ? [first, ...others.filter((m) => m !== first)] : others
      for (const peer of ask) {
        const answer = await o.link.request(peer, o.protocol, encode({ publicKey: mine.publicKey, ips: [o.advertise] } satisfies AccessRequest))
          .then((b) => decode<AccessAnswer>(b), (err: unknown) => { problem = `${shortId(peer)} could not give this cell access to the ownership store: ${(err as Error).message}`; return null })
        if (answer?.ok === true) {
          await writeFile(files.key, mine.key, { mode: 0o600 })
          await writeFile(files.cert, answer.cert)
          await writeFile(files.ca, answer.ca)
          await save({ role: 'client', holder: answer.holder, endpoints: answer.endpoints })
          markUpgraded()
          return await openEtcdStore({ endpoints: answer.endpoints, organism: o.organism, tls: await tlsOf() })
        }
        if (answer?.ok === false && answer.holder != null && answer.holder !== peer) hinted = answer.holder
      }
      problem ??= 'no member has given this cell access to the ownership store yet'
      await new Promise((r) => setTimeout(r, 1000))
    }
  }

  // Asked by a voter: pick ports, then start etcd as a new member and vote from then on (the CA key comes along, so
  // that any voter can admit new members when the first one is gone).
  const answerVoter = async (req: VoterRequest): Promise<Uint8Array> => {
    if (req.kind === 'prepare') {
      const clientPort = await freePort(o.bindHost ?? '0.0.0.0')
      const peerPort = await freePort(o.bindHost ?? '0.0.0.0')
      pending = { clientPort, peerPort }
      return encode({ peerUrl: `https://${o.advertise}:${peerPort}` })
    }
    if (pending == null || runsEtcd(saved)) throw ownershipError('OWNERSHIP_CONFLICT', 'this cell was not asked to prepare, or votes already')
    await writeFile(files.caKey, req.ca.key, { mode: 0o600 })
    await writeFile(files.ca, req.ca.cert)
    const own = `https://${o.advertise}:${pending.clientPort}`
    const next: StoreFile = { role: 'voter', holder: saved?.holder ?? '', endpoints: [...new Set([...saved?.endpoints ?? [], own])], ...pending, own }
    const remote = await runEtcd(next, { initialCluster: req.initialCluster })
    await save(next)
    const old = store
    await use(remote)
    await old?.close()
    log.info('this cell votes in the ownership store now', { endpoint: own })
    return encode({ ok: true })
  }

  const answerAccess = async (body: Uint8Array, from: string): Promise<Uint8Array> => {
    const asked = decode<AccessRequest | VoterRequest>(body)
    if (asked.kind === 'prepare' || asked.kind === 'start') return await answerVoter(asked)
    // A local holder upgrades first: the member asking is the second one.
    if (store?.kind === 'local') await (upgrading ??= upgrade()).catch((err: unknown) => { upgrading = null; throw err })
    if (!runsEtcd(saved) || saved == null) return encode({ ok: false, holder: saved?.holder ?? null } satisfies AccessAnswer)
    const req = asked
    const ca: Pem = { cert: await readFile(files.ca, 'utf8'), key: await readFile(files.caKey, 'utf8') }
    const cert = await issueMemberCert(ca, { peerId: from, publicKey: req.publicKey, ips: req.ips.filter((ip) => /^[0-9.]+$|^[0-9a-f:]+$/i.test(ip)) })
    log.info('issued a store certificate', { member: from })
    return encode({ ok: true, ca: ca.cert, cert, endpoints: saved.endpoints, holder: self } satisfies AccessAnswer)
  }

  // Every few seconds: follow the voters' addresses (a cell reaches the store through any of them), and, as a voter,
  // tend the voter set. One look at a time.
  let looking = false
  const couldNotVote = new Map<string, number>()
  const look = async (): Promise<void> => {
    if (looking || stopped || saved == null || store?.kind !== 'etcd') return
    looking = true
    const cluster = openEtcdCluster({ endpoints: saved.endpoints, tls: await tlsOf() })
    try {
      const members = await cluster.members()
      const endpoints = members.filter((m) => !m.learner && m.name !== '').flatMap((m) => m.clientUrls).sort()
      if (endpoints.length > 0 && JSON.stringify(endpoints) !== JSON.stringify([...saved.endpoints].sort())) {
        await save({ ...saved, endpoints })
        const old = store
        await use(await openEtcdStore({ endpoints, organism: o.organism, tls: await tlsOf() }))
        await old.close()
      }
      if (runsEtcd(saved) && o.cells != null) {
        const ca: Pem = { cert: await readFile(files.ca, 'utf8'), key: await readFile(files.caKey, 'utf8') }
        for (const [peer, at] of couldNotVote) if (o.clock.now() - at > 60_000) couldNotVote.delete(peer)
        const failed = (peer: string) => (err: unknown): never => { couldNotVote.set(peer, o.clock.now()); log.warn('a cell could not become a voter; asking another for a minute', { peer, err }); throw err }
        const did = await tendVoters({
          self, cluster, cells: o.cells, avoid: new Set(couldNotVote.keys()),
          prepare: async (peer) => decode<{ peerUrl: string }>(await o.link.request(peer, o.protocol, encode({ kind: 'prepare' } satisfies VoterRequest)).catch(failed(peer))),
          startMember: async (peer, initialCluster) => { await o.link.request(peer, o.protocol, encode({ kind: 'start', initialCluster, ca } satisfies VoterRequest)).catch(failed(peer)) }
        })
        if (!/^(another voter|enough voters|a learner is|no cell)/.test(did)) log.info(`ownership store voters: ${did}`)
      }
    } catch (err) {
      log.debug('could not tend the ownership store', { err })
    } finally {
      cluster.close()
      looking = false
    }
  }

  const attachWhenReady = async (s: OwnershipStore): Promise<void> => {
    for (;;) {
      try { await view.attach(s); problem = undefined; return } catch (err) {
        if (stopped) return
        problem = `the ownership store does not answer yet: ${(err as Error).message}`
        await new Promise((r) => setTimeout(r, 1000))
      }
    }
  }

  // Said plainly: a cell whose lease lapsed cannot reach a majority of the voters, so the store decides nothing now.
  const lapsed = (): string | undefined => {
    const lease = view.lease()
    if (store?.kind !== 'etcd' || lease == null || lease.mayServe(o.clock.now())) return undefined
    return 'this cell cannot reach a majority of the ownership store\'s voters (its lease lapsed): nothing is taken over or moved, and functions here accept no writes until it can'
  }
  return {
    name: 'ownership store',
    view,
    current: () => {
      if (store == null) throw ownershipError('OWNERSHIP_UNAVAILABLE', 'the ownership store has not started')
      return store
    },
    status: () => ({
      kind: store?.kind ?? 'joining',
      ...(problem ?? lapsed()) != null ? { problem: problem ?? lapsed() } : {},
      role: saved == null ? 'alone' : saved.role,
      holder: saved?.holder ?? (store?.kind === 'local' ? self : null),
      endpoints: saved?.endpoints ?? []
    }),
    upgraded: async () => { await upgradedP },
    start: async () => {
      saved = await readSaved()
      await o.link.handle(o.protocol, answerAccess)
      stopLooking = o.clock.every(5000, () => { void look() })
      if (runsEtcd(saved) && saved != null) {
        const s = await runEtcd(saved)
        await waitUntilAnswers(s)
        await use(s)
        markUpgraded()
      } else if (saved?.role === 'client') {
        // The holder may still be starting (a full restart): the view attaches once it answers.
        const s = await openEtcdStore({ endpoints: saved.endpoints, organism: o.organism, tls: await tlsOf() })
        store = s
        joining = attachWhenReady(s)
        markUpgraded()
      } else if (o.link.members().length > 1 && !(await isLocalHolder())) {
        // Joining waits for the holder (it may be upgrading, or down); the cell starts meanwhile.
        joining = joinStore().then(async (s) => { await use(s); problem = undefined }, (err: unknown) => { if (!stopped) log.warn('could not join the ownership store', { err }) })
      } else {
        await use(await openLocalStore(files.local, o.clock))
        const check = (): void => { if (o.link.members().length > 1 && store?.kind === 'local') void (upgrading ??= upgrade()).catch((err: unknown) => { upgrading = null; log.warn('could not move ownership to etcd; will retry', { err }) }) }
        offMember = o.link.onMember(check)
        check()
      }
    },
    stop: async () => {
      stopped = true
      stopLooking?.()
      offMember?.()
      await upgrading?.catch(() => {})
      await joining
      await view.close()
      await store?.close()
      await etcd?.stop()
    }
  }

  /** A cell that kept ownership locally before (it was alone, then others joined while it was down) stays the holder. */
  async function isLocalHolder (): Promise<boolean> {
    try { await readFile(files.local); return true } catch { return false }
  }
}
