// Test helpers: upstream servers on 127.0.0.1:0, a plain HTTP client, a minimal WebSocket echo upstream.
import { createServer, request as httpRequest } from 'node:http'
import type { IncomingMessage, ServerResponse, IncomingHttpHeaders } from 'node:http'
import type { Duplex, Readable } from 'node:stream'
import { createHash } from 'node:crypto'
import type { TestContext } from 'node:test'

export interface Upstream { port: number, close: () => Promise<void> }

export async function startUpstream (t: TestContext, handler: (req: IncomingMessage, res: ServerResponse) => void,
  onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): Promise<Upstream> {
  const server = createServer(handler)
  const sockets = new Set<Duplex>()
  if (onUpgrade != null) server.on('upgrade', (req, socket: Duplex, head: Buffer) => { sockets.add(socket); onUpgrade(req, socket, head) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  const port = typeof addr === 'object' && addr != null ? addr.port : 0
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => { resolve() }))
  }
  t.after(close)
  return { port, close }
}

export interface Reply { status: number, headers: IncomingHttpHeaders, body: Buffer }

/** One request on its own connection; rejects after 30 s so that no test hangs. */
export async function send (port: number, opts: { method?: string, path?: string, headers?: Record<string, string>, body?: Buffer | Readable, setHost?: boolean }): Promise<Reply> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: opts.headers, agent: false, setHost: opts.setHost ?? true, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }) })
      res.on('error', reject)
    })
    req.on('timeout', () => { req.destroy(new Error('test request timed out')) })
    req.on('error', reject)
    if (opts.body == null) req.end()
    else if (Buffer.isBuffer(opts.body)) req.end(opts.body)
    else opts.body.pipe(req)
  })
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** Opens a WebSocket, sends `out`, and resolves with what came back once as many messages arrived (then closes). */
export async function wsExchange (url: string, out: readonly string[]): Promise<string[]> {
  const ws = new WebSocket(url)
  const got: string[] = []
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => { for (const m of out) ws.send(m) })
    ws.addEventListener('message', (e) => { got.push(String(e.data)); if (got.length === out.length) ws.close() })
    ws.addEventListener('close', () => { resolve() })
    ws.addEventListener('error', () => { reject(new Error('websocket error')) })
  })
  return got
}

/** Server side of RFC 6455, just enough for an echo: handshake, then unmask client frames and send them back. */
export function wsEcho (req: IncomingMessage, socket: Duplex): void {
  const key = req.headers['sec-websocket-key'] ?? ''
  const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64')
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Seen-Host: ${req.headers.host ?? ''}\r\n\r\n`)
  let buf = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk])
    for (;;) {
      if (buf.length < 2) return
      const opcode = buf[0] & 0x0f
      let len = buf[1] & 0x7f
      let off = 2
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4 } else if (len === 127) { socket.destroy(); return }
      if (buf.length < off + 4 + len) return
      const mask = buf.subarray(off, off + 4)
      const payload = Buffer.from(buf.subarray(off + 4, off + 4 + len))
      for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4]
      buf = buf.subarray(off + 4 + len)
      if (opcode === 8) { socket.end(Buffer.from([0x88, 0])); return }
      const head = payload.length < 126 ? Buffer.from([0x80 | opcode, payload.length]) : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 255])
      socket.write(Buffer.concat([head, payload]))
    }
  })
  socket.on('error', () => {})
}
