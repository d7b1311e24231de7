// Names of the organism's cell-to-cell protocols (members only; the peer layer enforces the /organism/<name>/ prefix).
export const protocols = (organism: string) => ({
  http: `/organism/${organism}/http/1.0.0`,
  // A key to the owner's TLS forwarding port (requests then go there, straight into its router).
  forward: `/organism/${organism}/forward/1.0.0`,
  move: `/organism/${organism}/move/1.0.0`,
  // 2.0.0 adds the receiver's bulk side-path offer; senders fall back to 1.0.0 for cells that lack it.
  moveV2: `/organism/${organism}/move/2.0.0`,
  moveRequest: `/organism/${organism}/move-request/1.0.0`,
  // A member asks the store's holder to sign its key for the ownership store (etcd, mutual TLS).
  store: `/organism/${organism}/store/1.0.0`,
  // The owner fills a function's replica: its data dir's changed blocks, batch by batch, each acknowledged once durable.
  replica: `/organism/${organism}/replica/1.0.0`,
  state: `/organism/${organism}/state/1.0.0`,
  // A genome commit offered to a member (`cell update`); the member fetches its objects as a git bundle.
  update: `/organism/${organism}/update/1.0.0`,
  genomeBundle: `/organism/${organism}/genome-bundle/1.0.0`,
  // The same state messages on one long-lived channel per peer (2.0.0); 1.0.0 (a stream each) for cells without it.
  stateChannel: `/organism/${organism}/state/2.0.0`
})
