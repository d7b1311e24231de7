// Test helpers: a plain node:http server around a dashboard, and an SSE reader over a real socket.
import { createServer, get } from 'node:http'
import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Dashboard } from '../../src/dashboard/index.ts'

export interface TestServer {
  url: string
  /** Drops every open connection (as a cell restart or a network blip would) but keeps listening. */
  cut: () => void
  close: () => Promise<void>
}

/** Serves the dashboard, and answers 404 'not the dashboard' for whatever handle() declines. */
export async function serve (dashboard: Dashboard): Promise<TestServer> {
  const server = createServer((req, res) => {
    if (dashboard.handle(req, res)) return
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not the dashboard')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    cut: () => { server.closeAllConnections() },
    close: async () => {
      dashboard.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

export interface SseFrame { event?: string, data?: string, retry?: string, comment?: string }

export interface SseStream {
  res: IncomingMessage
  frames: SseFrame[]
  /** Resolves with the first frame (already received or coming) that matches and was not consumed before. */
  next: (match: (f: SseFrame) => boolean, timeoutMs?: number) => Promise<SseFrame>
  close: () => void
}

export async function openSse (url: string): Promise<SseStream> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => get(url, { headers: { accept: 'text/event-stream' } }, resolve).on('error', reject))
  const frames: SseFrame[] = []
  let consumed = 0
  let buf = ''
  const waiters = new Set<() => void>()
  res.setEncoding('utf8')
  res.on('data', (chunk: string) => {
    buf += chunk
    let end: number
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end); buf = buf.slice(end + 2)
      const f: SseFrame = {}
      for (const line of block.split('\n')) {
        const i = line.indexOf(':')
        const field = line.slice(0, i); const value = line.slice(i + 1).replace(/^ /, '')
        if (field === '') f.comment = value
        else if (field === 'data') f.data = f.data == null ? value : f.data + '\n' + value
        else if (field === 'event' || field === 'retry') f[field] = value
      }
      frames.push(f)
    }
    for (const w of waiters) w()
  })
  return {
    res,
    frames,
    next: async (match, timeoutMs = 3000) => await new Promise((resolve, reject) => {
      const check = (): void => {
        for (let i = consumed; i < frames.length; i++) {
          if (match(frames[i])) { consumed = i + 1; clearTimeout(timer); waiters.delete(check); resolve(frames[i]); return }
        }
      }
      const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`no matching SSE frame within ${timeoutMs} ms; got ${JSON.stringify(frames.slice(consumed))}`)) }, timeoutMs)
      waiters.add(check)
      check()
    }),
    close: () => { res.destroy() }
  }
}

export const isView = (f: SseFrame): boolean => f.event === 'view'

export async function until (cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
