// Time as a component: the real clock for cells, a fake one for tests and the simulator.

export interface Clock {
  now: () => number
}

export const realClock: Clock = { now: () => Date.now() }

export class FakeClock implements Clock {
  private t: number
  constructor (start = 0) { this.t = start }
  now (): number { return this.t }
  advance (ms: number): void { this.t += ms }
}
