// Recent events of the organism, for the live map and `cell status`: a small ring, newest last.
export interface OrganismEvent { at: number, kind: 'join' | 'dead' | 'alive' | 'suspect' | 'move' | 'restart' | 'info', text: string }

export class EventLog {
  private readonly items: OrganismEvent[] = []
  private readonly size: number
  constructor (size: number) { this.size = size }
  note (e: Omit<OrganismEvent, 'at'>, at = Date.now()): void {
    this.items.push({ at, ...e })
    if (this.items.length > this.size) this.items.shift()
  }
  list (): OrganismEvent[] { return [...this.items] }
}
