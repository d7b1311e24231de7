// A small zone view shared by the DNS tests: two cells (one dead), two functions, one nameserver.
import type { ZoneView } from '../../src/dns/index.ts'

export function sampleView (overrides: Partial<ZoneView> = {}): ZoneView {
  return {
    zone: 'campus.test',
    serial: 42,
    ttl: 5,
    cells: [
      { id: 'cell-a', name: 'c-aaaaaa', addresses: ['127.0.0.2', 'fd00::2'], routerPort: 8080, alive: true },
      { id: 'cell-b', name: 'c-bbbbbb', addresses: ['127.0.0.3'], routerPort: 8081, alive: false }
    ],
    functions: [
      { domain: 'catalog.campus.test', addresses: ['127.0.0.2'] },
      { domain: 'quiz.campus.test', addresses: ['127.0.0.2', '127.0.0.3', 'fd00::2'] }
    ],
    nameservers: [{ name: 'ns1.campus.test', addresses: ['127.0.0.2'] }],
    ...overrides
  }
}
