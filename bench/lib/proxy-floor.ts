// Reference for the bench: the least a Node proxy on this stack does (node:http server + undici Pool.dispatch,
// no routing, metrics or X-Forwarded-*), so that the router's own cost can be told apart from the stack's.
import { createServer } from 'node:http'
import type { ServerResponse } from 'node:http'
import { Pool } from 'undici'
import type { Dispatcher } from 'undici'

const pool = new Pool(`http://127.0.0.1:${process.argv[2]}`, { connections: 128, pipelining: 1 })

class Handler implements Dispatcher.DispatchHandler {
  readonly res: ServerResponse
  resume: () => void = () => {}
  constructor (res: ServerResponse) { this.res = res }
  onConnect (): void {}
  onHeaders (status: number, raw: Buffer[], resume: () => void): boolean {
    const h: string[] = []
    for (let i = 0; i < raw.length; i += 2) {
      const n = raw[i].toString('latin1')
      const l = n.toLowerCase()
      if (l !== 'connection' && l !== 'keep-alive') h.push(n, raw[i + 1].toString('latin1'))
    }
    this.res.writeHead(status, h)
    this.resume = resume
    return true
  }

  onData (chunk: Buffer): boolean {
    const ok = this.res.write(chunk)
    if (!ok) this.res.once('drain', this.resume)
    return ok
  }

  onComplete (): void { this.res.end() }
  onError (): void { if (this.res.headersSent) this.res.destroy(); else { this.res.writeHead(502); this.res.end() } }
}

const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
  pool.dispatch({ path: req.url ?? '/', method: req.method as Dispatcher.HttpMethod, headers: req.rawHeaders, body: null }, new Handler(res))
})
server.listen(0, '127.0.0.1', () => {
  const addr = server.address()
  process.send?.({ port: typeof addr === 'object' && addr != null ? addr.port : 0 })
})
process.on('disconnect', () => { process.exit(0) })
