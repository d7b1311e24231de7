// Which Host headers get the live map instead of a 404: ones that name the cell itself rather than a function.
import { isIP } from 'node:net'

export function isMapHost (host: string | undefined, zone: string): boolean {
  if (host == null) return false
  let name = host.toLowerCase()
  if (name.startsWith('[')) name = name.slice(1, name.indexOf(']'))
  else if (name.includes(':')) name = name.slice(0, name.lastIndexOf(':'))
  name = name.replace(/\.$/, '')
  return isIP(name) !== 0 || name === 'localhost' || name === zone || name === `map.${zone}`
}
