// Cell-to-cell forwarding: a request for a function another cell owns travels over a long-lived TLS 1.3 connection
// per pair of cells (keyed over the member link) straight into the owner's router, or over the member link where
// that port cannot be reached.
//
//   const server = await openForwardServer({ bindHost, advertise, accept: (sock) => router.accept(sock) })
//   link.handleStream(names.forward, (stream, from) => { serveTicket(stream, server.ticket(from)) })
//   const connector = forwardConnector({ ticket: async (c) => await readTicket(await link.openStream(c, names.forward)), member })
export { openForwardServer } from './server.ts'
export type { ForwardServer } from './server.ts'
export { serveTicket, readTicket } from './tickets.ts'
export { forwardConnector } from './client.ts'
export type { Connector, ConnectorOptions } from './client.ts'
