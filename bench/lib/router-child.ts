// Benchmark router: the real router in its own process (own event loop), routing bench.test to the upstream port in argv[2].
import { createRouter, buildRouteTable } from '../../src/router/index.ts'
import { setLogSink } from '../../src/core/log.ts'

setLogSink((line) => { process.stderr.write(line + '\n') }, 'warn')
const upstreamPort = Number(process.argv[2])
const connections = process.env.ROUTER_BENCH_CONNECTIONS == null ? undefined : Number(process.env.ROUTER_BENCH_CONNECTIONS)
// argv[3], for several router processes on one port (SO_REUSEPORT): 'reuse' (first: any free port) or the port to join.
const share = process.argv[3]
const router = createRouter({ port: share == null || share === 'reuse' ? 0 : Number(share), host: '127.0.0.1', reusePort: share != null, resolve: () => ({ kind: 'local', port: upstreamPort }), pool: connections == null ? undefined : { connections } })
router.setRoutes(buildRouteTable([{ function: 'bench', domain: 'bench.test', pathPrefix: null }]))
await router.start()
process.send?.({ port: router.port })
process.on('message', (m: { stats?: boolean }) => { if (m.stats === true) process.send?.({ stats: router.stats('bench') }) })
process.on('disconnect', () => { void router.stop().finally(() => process.exit(0)) })
