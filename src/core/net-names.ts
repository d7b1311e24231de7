// Two small facts about network names shared by several modules: whether an address is this host's loopback, and
// whether a string is one DNS label.

/** 127.0.0.0/8, ::1, and IPv4-mapped loopback. */
export function isLoopback (address: string | undefined): boolean {
  return address != null && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'))
}

/** One lower-case DNS label (RFC 1035 letters, digits, inner hyphens; 1 to 63 long). */
export function isDnsLabel (label: string): boolean {
  return /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(label)
}
