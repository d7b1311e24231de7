// Names in the organism's namespace: organism names, topics, protocols (pure checks).
import { peersError } from './errors.ts'

export const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/
const PROTOCOL_TAIL = /^[a-z0-9][a-z0-9._-]{0,63}\/\d+\.\d+\.\d+$/

export function checkOrganismName (organism: string): void {
  if (!NAME.test(organism)) throw peersError('PEERS_PROTOCOL_INVALID', `organism name "${organism}" must match ${NAME}`)
}

/** organism/<name>/<topic>; "members" is the roster's own topic. */
export function topicName (organism: string, topic: string): string {
  if (!NAME.test(topic) || topic === 'members') throw peersError('PEERS_PROTOCOL_INVALID', `topic "${topic}" must match ${NAME} and not be "members"`)
  return `organism/${organism}/${topic}`
}

/** /organism/<name>/<what>/<x.y.z>; "members" is reserved for the roster's sync. */
export function checkProtocol (organism: string, protocol: string): void {
  const prefix = `/organism/${organism}/`
  if (!protocol.startsWith(prefix) || !PROTOCOL_TAIL.test(protocol.slice(prefix.length)) || protocol.startsWith(`${prefix}members/`)) {
    throw peersError('PEERS_PROTOCOL_INVALID', `protocol "${protocol}" must look like ${prefix}<name>/<major.minor.patch> (not members)`)
  }
}
