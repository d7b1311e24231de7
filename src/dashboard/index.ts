// The dashboard module: the live map every cell serves — one page, a stream of views (SSE), and the view as JSON.
//
//   const dashboard = createDashboard({ view: () => organismView(), changes: (signal) => state.changes(signal), basePath: '/_organism/' })
//   server.on('request', (req, res) => { if (!dashboard.handle(req, res)) router(req, res) })
//   dashboard.close()   // on shutdown: ends every open stream
//
// Paths, under basePath (default '/'):
//   GET  ./            the page (HTML, inline CSS and script, nothing external)
//   GET  ./events      text/event-stream: `event: view` with the whole view as JSON, on change and every pushIntervalMs
//   GET  ./view.json   the current view
// The page fetches only relative URLs, so it works under any prefix; a prefix without its trailing slash is
// redirected (308) to the slash form. The dashboard does no access control: the cell decides who may reach it.
export { createDashboard } from './server.ts'
export type { Dashboard, DashboardOptions } from './server.ts'
export type { OrganismView, CellView, FunctionView, FlowView, OrganismEvent, CellState, EventKind } from './types.ts'
export { sseEvent, sseComment, sseRetry, serializeView, viewEvent } from './sse.ts'
