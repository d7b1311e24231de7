// The router module: route table (pure), the HTTP edge with proxying and WebSocket tunnels, per-function usage metrics.
//
//   const router = createRouter({ port: 80, host: '0.0.0.0', resolve: (fn) => supervisor.upstreamOf(fn) })
//   router.setRoutes(buildRouteTable([{ function: 'quiz', domain: 'quiz.uni.example', pathPrefix: null }]))
//   await router.start()          // router.port is the bound port
//   router.stats('quiz')          // { requestsPerSecond, p50Ms, p99Ms, distinctUsers, … }
//   formatPrometheus(router.metrics())
//
// Path prefixes are matched on a segment boundary and passed upstream unchanged (not stripped), so a function
// sees the same URLs whether or not it shares its domain.
export { buildRouteTable, matchRoute, functionsIn } from './routes.ts'
export type { RouteEntry, RouteTable, RouteMatch } from './routes.ts'
export { createRouter } from './server.ts'
export type { Router, RouterOptions, Upstream } from './server.ts'
export type { FunctionTraffic, TrafficOptions } from './traffic.ts'
export { routerError } from './errors.ts'
export { HOP_HEADER, serveLink } from './remote.ts'
export type { LinkOptions } from './links.ts'
export type { RemoteUpstream } from './remote.ts'
