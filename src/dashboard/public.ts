// The live map as a viewer on another machine sees it (pure): cells by name, no peer ids, no ports. Peer ids let a
// stranger aim at the member protocols and ports tell it where the cell's other listeners are; names are in DNS.
import type { OrganismView } from './types.ts'

/** Whether the viewer at this socket address sees everything (this host) or the public view. */
export { isLoopback as isLocalViewer } from '../core/net-names.ts'

export function publicView (v: OrganismView): OrganismView {
  const nameOf = new Map(v.cells.map((c) => [c.id, c.name]))
  const hide = (text: string): string => { let t = text; for (const [id, name] of nameOf) t = t.split(id).join(name); return t }
  return {
    ...v,
    self: nameOf.get(v.self) ?? '',
    cells: v.cells.map((c) => ({ ...c, id: c.name, address: c.address.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1') })),
    events: v.events.map((e) => ({ ...e, text: hide(e.text) })),
    ...v.flows != null ? { flows: v.flows.map((f) => ({ ...f, from: nameOf.get(f.from) ?? '', to: nameOf.get(f.to) ?? '' })) } : {}
  }
}
