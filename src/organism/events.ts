// Recent events of the organism, for the live map and `cell status`: a small ring, newest last.
import type { Clock } from '../core/clock.ts'

export interface OrganismEvent { at: number, kind: 'join' | 'dead' | 'alive' | 'suspect' | 'move' | 'restart' | 'tamper' | 'heal' | 'info', text: string }

export class EventLog {
  private readonly items: OrganismEvent[] = []
  private readonly size: number
  private readonly clock: Clock
  constructor (size: number, clock: Clock) { this.size = size; this.clock = clock }
  note (e: Omit<OrganismEvent, 'at'>): void {
    this.items.push({ at: this.clock.now(), ...e })
    if (this.items.length > this.size) this.items.shift()
  }
  list (): OrganismEvent[] { return [...this.items] }
}
