// Benchmark upstream: a tiny Node HTTP server answering a small fixed body; reports its port over IPC.
import { createServer } from 'node:http'

const body = Buffer.from('hello from the upstream\n')
const server = createServer({ keepAliveTimeout: 60_000 }, (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length })
  res.end(body)
})
server.listen(0, '127.0.0.1', () => {
  const addr = server.address()
  process.send?.({ port: typeof addr === 'object' && addr != null ? addr.port : 0 })
})
process.on('disconnect', () => { process.exit(0) })
