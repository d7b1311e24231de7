// What the DNS module answers from: the cell's picture of the zone, computed elsewhere and read per query.

export interface ZoneCell {
  id: string
  /** A DNS label, e.g. "c-1a2b3c"; the cell's host name is `<name>.<zone>`. */
  name: string
  /** IPv4 and/or IPv6 literals. */
  addresses: string[]
  routerPort: number
  alive: boolean
}

export interface ZoneFunction {
  domain: string
  /** The owner's addresses, or every live cell's (the cell decides). */
  addresses: string[]
}

export interface ZoneNameserver {
  /** e.g. ns1.campus.test; glue is served only for names inside the zone. */
  name: string
  addresses: string[]
}

export interface ZoneView {
  /** e.g. campus.test: lower case, no trailing dot. */
  zone: string
  /** Grows with every placement change; the cell computes it. */
  serial: number
  /** Seconds for A/AAAA/SRV and for negative answers (short, e.g. 5). */
  ttl: number
  cells: ZoneCell[]
  functions: ZoneFunction[]
  nameservers: ZoneNameserver[]
}
