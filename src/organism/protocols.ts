// Names of the organism's cell-to-cell protocols (members only; the peer layer enforces the /organism/<name>/ prefix).
export const protocols = (organism: string) => ({
  http: `/organism/${organism}/http/1.0.0`,
  move: `/organism/${organism}/move/1.0.0`,
  moveRequest: `/organism/${organism}/move-request/1.0.0`,
  state: `/organism/${organism}/state/1.0.0`
})
