// The dashboard's HTTP side: route the three paths, keep the SSE clients, push one shared view to all of them.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { logger } from '../core/log.ts'
import { pageHeaders, renderPage } from './page.ts'
import { serializeView, sseComment, sseEvent, sseRetry } from './sse.ts'
import type { OrganismView } from './types.ts'
import { isLocalViewer, publicView } from './public.ts'

const log = logger('dashboard')

export interface DashboardOptions {
  view: () => OrganismView
  /** Each value yielded is a nudge to push a fresh view soon; iterated only while someone is watching. */
  changes?: (signal: AbortSignal) => AsyncIterable<unknown>
  /** Push periodically too, so load figures move even without changes (default 1000). */
  pushIntervalMs?: number
  /** Where the cell mounts the dashboard, e.g. '/_organism/' (default '/'); the page only uses relative URLs. */
  basePath?: string
  /** SSE streams beyond this get 503 (default 100). */
  maxClients?: number
  /** Comment sent on idle streams (default 15000). */
  heartbeatMs?: number
  /** Browser reconnect delay sent as `retry:` (default 2000). */
  retryMs?: number
  /** Who sees peer ids and ports: viewers on this host only (default), or every viewer (genome `map: public`). */
  details?: 'local' | 'all'
}

export interface Dashboard {
  /** True if it served the request: GET / (page), GET /events (SSE of views), GET /view.json — under basePath. */
  handle: (req: IncomingMessage, res: ServerResponse) => boolean
  /** Ends every SSE stream and stops pushing; later /events requests get 503. */
  close: () => void
  /** Number of open SSE streams (for tests and metrics). */
  clients: () => number
}

interface Client { res: ServerResponse, congested: boolean, missed: boolean, full: boolean }

// Changes can come in bursts (a gossip round touches many records); pushes closer than this are merged.
const minGapMs = 100

export function createDashboard (opts: DashboardOptions): Dashboard {
  const base = normaliseBase(opts.basePath ?? '/')
  const pushIntervalMs = opts.pushIntervalMs ?? 1000
  const maxClients = opts.maxClients ?? 100
  const heartbeatMs = opts.heartbeatMs ?? 15_000
  const retryMs = opts.retryMs ?? 2000
  const clients = new Set<Client>()
  let closed = false
  /** The last good view, whole and public. */
  let last = { full: '', public: '' }
  let lastPushAt = 0
  let periodic: NodeJS.Timeout | undefined
  let heartbeat: NodeJS.Timeout | undefined
  let soon: NodeJS.Timeout | undefined
  let watching: AbortController | undefined

  const seesAll = (req: IncomingMessage): boolean => opts.details === 'all' || isLocalViewer(req.socket.remoteAddress)
  /** The view as JSON, whole and/or public, each only if asked for (the public one costs a copy of the view). */
  function currentView (want: { full: boolean, public: boolean }): { full?: string, public?: string } | undefined {
    try {
      const v = opts.view()
      return { ...want.full ? { full: serializeView(v) } : {}, ...want.public ? { public: serializeView(publicView(v)) } : {} }
    } catch (err) {
      // A broken view must not take the cell down; the page keeps showing the last good one.
      log.warn('view() failed', { err })
      return undefined
    }
  }

  function send (client: Client, frame: string): void {
    if (client.congested) { client.missed = true; return }
    // A slow reader gets no queue of stale views: it skips ahead to the newest once its socket drains.
    if (!client.res.write(frame)) client.congested = true
  }

  function push (): void {
    if (soon != null) { clearTimeout(soon); soon = undefined }
    lastPushAt = Date.now()
    const all = [...clients]
    const json = currentView({ full: all.some((c) => c.full), public: all.some((c) => !c.full) })
    if (json == null) return
    last = { ...last, ...json }
    const frames = { full: json.full == null ? '' : sseEvent('view', json.full), public: json.public == null ? '' : sseEvent('view', json.public) }
    for (const client of clients) send(client, client.full ? frames.full : frames.public)
  }

  function nudge (): void {
    if (closed || clients.size === 0 || soon != null) return
    const wait = Math.max(0, lastPushAt + minGapMs - Date.now())
    soon = setTimeout(push, wait)
  }

  function startWatching (): void {
    periodic = setInterval(push, pushIntervalMs)
    heartbeat = setInterval(() => { for (const c of clients) send(c, sseComment('heartbeat')) }, heartbeatMs)
    if (opts.changes == null) return
    const controller = new AbortController()
    watching = controller
    void (async () => {
      try {
        for await (const _ of opts.changes!(controller.signal)) {
          if (controller.signal.aborted) break
          nudge()
        }
      } catch (err) {
        if (!controller.signal.aborted) log.warn('changes feed failed; periodic pushes continue', { err })
      }
    })()
  }

  function stopWatching (): void {
    clearInterval(periodic); clearInterval(heartbeat); clearTimeout(soon)
    periodic = heartbeat = soon = undefined
    watching?.abort(); watching = undefined
  }

  function openStream (req: IncomingMessage, res: ServerResponse): void {
    if (closed || clients.size >= maxClients) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '10', 'cache-control': 'no-store' })
      res.end(closed ? 'dashboard closed\n' : `too many dashboard viewers (limit ${maxClients}); try again later\n`)
      return
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no' // nginx and friends would otherwise hold events back in a buffer
    })
    req.socket.setNoDelay(true)
    const client: Client = { res, congested: false, missed: false, full: seesAll(req) }
    const lastFor = (c: Client): string => c.full ? last.full : last.public
    res.on('drain', () => {
      client.congested = false
      if (client.missed) { client.missed = false; if (lastFor(client) !== '') send(client, sseEvent('view', lastFor(client))) }
    })
    res.on('close', () => {
      clients.delete(client)
      if (clients.size === 0) stopWatching()
    })
    if (clients.size === 0) startWatching()
    clients.add(client)
    // The first view goes out at once, so the page fills without waiting for the next tick.
    const json = currentView({ full: client.full, public: !client.full })
    if (json != null) last = { ...last, ...json }
    res.write(sseRetry(retryMs) + (lastFor(client) !== '' ? sseEvent('view', lastFor(client)) : sseComment('no view yet')))
  }

  function handle (req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '/').split('?')[0]
    if (base !== '/' && path === base.slice(0, -1)) {
      // Without the trailing slash the page's relative URLs would resolve outside the mount.
      res.writeHead(308, { location: base }); res.end()
      return true
    }
    if (!path.startsWith(base)) return false
    const rest = path.slice(base.length)
    if (rest !== '' && rest !== 'index.html' && rest !== 'events' && rest !== 'view.json') return false
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' })
      res.end('method not allowed\n')
      return true
    }
    if (rest === 'events') { openStream(req, res); return true }
    if (rest === 'view.json') {
      const full = seesAll(req)
      const json = currentView({ full, public: !full })
      if (json == null) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
        res.end('the organism view is not available; see the cell log\n')
        return true
      }
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
      res.end(req.method === 'HEAD' ? undefined : full ? json.full : json.public)
      return true
    }
    const html = renderPage()
    res.writeHead(200, { ...pageHeaders(), 'content-length': Buffer.byteLength(html) })
    res.end(req.method === 'HEAD' ? undefined : html)
    return true
  }

  function close (): void {
    if (closed) return
    closed = true
    stopWatching()
    for (const client of clients) client.res.end()
    clients.clear()
  }

  return { handle, close, clients: () => clients.size }
}

function normaliseBase (base: string): string {
  let b = base.startsWith('/') ? base : '/' + base
  if (!b.endsWith('/')) b += '/'
  return b
}
