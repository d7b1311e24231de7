// Prometheus families (pure) built on read from the per-function trackers; nothing here runs per request.
import type { MetricFamily, Sample } from '../core/prometheus.ts'
import type { TrafficTracker } from './traffic.ts'

const CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx']

/** Requests that reached no function (bad host, unknown host) are reported under this function label. */
export const UNROUTED = '(unrouted)'

export function trafficFamilies (trackers: ReadonlyMap<string, TrafficTracker>, nowMs: number): MetricFamily[] {
  const total: Sample[] = []
  const duration: Sample[] = []
  const rps: Sample[] = []
  const users: Sample[] = []
  const bytesIn: Sample[] = []
  const bytesOut: Sample[] = []
  for (const [fn, t] of trackers) {
    const labels = { function: fn }
    t.statusClasses.forEach((n, i) => { if (n > 0) total.push({ labels: { function: fn, code_class: CLASSES[i] }, value: n }) })
    const s = t.snapshot(nowMs)
    duration.push(
      { labels: { function: fn, quantile: '0.5' }, value: s.p50Ms / 1000 },
      { labels: { function: fn, quantile: '0.99' }, value: s.p99Ms / 1000 },
      { labels, value: t.latencySumMs / 1000, suffix: '_sum' },
      { labels, value: t.requestsTotal, suffix: '_count' }
    )
    rps.push({ labels, value: s.requestsPerSecond })
    if (fn !== UNROUTED) users.push({ labels, value: s.distinctUsers })
    bytesIn.push({ labels, value: t.bytesIn })
    bytesOut.push({ labels, value: t.bytesOut })
  }
  return [
    { name: 'organism_http_requests_total', help: 'HTTP requests handled by the router, by function and status class (0xx = no response).', type: 'counter', samples: total },
    { name: 'organism_http_request_duration_seconds', help: 'Request duration through the router; quantiles over the sliding window.', type: 'summary', samples: duration },
    { name: 'organism_http_requests_per_second', help: 'Request rate over the sliding window.', type: 'gauge', samples: rps },
    { name: 'organism_http_distinct_users', help: 'Estimated distinct clients (HyperLogLog) over the last one to two user windows.', type: 'gauge', samples: users },
    { name: 'organism_http_received_bytes_total', help: 'Bytes read from clients (headers included).', type: 'counter', samples: bytesIn },
    { name: 'organism_http_sent_bytes_total', help: 'Bytes written to clients (headers included).', type: 'counter', samples: bytesOut }
  ]
}
