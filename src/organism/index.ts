// The organism, one cell's part of it: shared state over a peer link, the placement plan, events, saved membership.
//
//   const opened = await openPeerLink({ stateDir, organism: 'campus', listen: ['/ip4/0.0.0.0/tcp/0'] })
//   const org = await startOrganism({ organism: 'campus', functions, link: opened.node, signer: opened.signer,
//     verify: stateVerify(), clock: realClock, founding: opened.founding, membershipFile: opened.membershipFile })
//   org.plan().route('grades')            // local | remote cell | unavailable
//   const off = org.onChange((c) => …)     // placements, liveness; off() unsubscribes
//   await org.stop(); await opened.node.stop()
export { startOrganism } from './organism.ts'
export type { OrganismOptions } from './organism.ts'
export type { Organism, OrganismChange } from './types.ts'
export { openPeerLink } from './link.ts'
export type { OrganismLink, OpenLinkOptions, OpenedLink } from './link.ts'
export { protocols } from './protocols.ts'
export { createOrganismStore } from './store.ts'
export type { OrganismStore, StoreStatus } from './store.ts'
export { stateVerify } from './identity.ts'
export type { OrganismEvent } from './events.ts'
export { organismError } from './errors.ts'
// The membrane's expulsions, as the cell checks and reports them (the peer network is below the organism).
export { expulsionFacts } from '../peers/index.ts'
export type { Expulsion, VerifyExpulsion } from '../peers/index.ts'
