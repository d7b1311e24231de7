// Shared by the demo functions: a tiny JSON HTTP service, a JSON file store in $DATA_DIR,
// and calls to sibling functions through the cell's router by their domain.
import http from 'node:http'
import { readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

export const zone = process.env.ORGANISM_ZONE ?? 'campus.test'
const dataDir = process.env.DATA_DIR ?? '.'
const router = process.env.ORGANISM_ROUTER ?? 'http://127.0.0.1:8080'

/** A JSON document kept in $DATA_DIR, written atomically (temp file + rename). */
export function store (name, initial) {
  mkdirSync(dataDir, { recursive: true })
  const file = join(dataDir, `${name}.json`)
  let value
  try { value = JSON.parse(readFileSync(file, 'utf8')) } catch { value = structuredClone(initial) }
  return {
    get value () { return value },
    save () { writeFileSync(file + '.tmp', JSON.stringify(value)); renameSync(file + '.tmp', file) }
  }
}

export function send (res, status, body, headers = {}) {
  const text = JSON.stringify(body, null, 1)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

export async function readJson (req, limit = 1 << 20) {
  let size = 0
  const chunks = []
  for await (const chunk of req) {
    size += chunk.length
    if (size > limit) throw Object.assign(new Error('body too large'), { status: 413 })
    chunks.push(chunk)
  }
  try { return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') } catch { throw Object.assign(new Error('body is not JSON'), { status: 400 }) }
}

/** GET/POST another function of the organism through the router: `call('people', '/people/1')`. */
export function call (fn, path, { method = 'GET', body } = {}) {
  const url = new URL(path, router)
  const payload = body == null ? null : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method,
      headers: { host: `${fn}.${zone}`, 'content-type': 'application/json', ...(payload ? { 'content-length': Buffer.byteLength(payload) } : {}) },
      timeout: 5000
    }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json = null
        try { json = JSON.parse(text) } catch {}
        resolve({ status: res.statusCode, body: json })
      })
    })
    req.on('timeout', () => req.destroy(new Error(`${fn} did not answer in 5 s`)))
    req.on('error', reject)
    req.end(payload)
  })
}

/** Routes: { 'GET /path/:id': handler(req, res, params) }. Adds /health; answers 404/500 as JSON. */
export function serve (name, routes) {
  const table = Object.entries(routes).map(([key, handler]) => {
    const [method, pattern] = key.split(' ')
    const names = []
    const re = new RegExp('^' + pattern.replace(/:(\w+)/g, (_m, n) => { names.push(n); return '([^/]+)' }) + '/?$')
    return { method, re, names, handler }
  })
  const server = http.createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname
    if (path === '/health') return send(res, 200, { ok: true, function: name })
    if (path === '/' && req.method === 'GET') return send(res, 200, { function: name, routes: Object.keys(routes) })
    for (const r of table) {
      const m = r.method === req.method && r.re.exec(path)
      if (!m) continue
      const params = Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(m[i + 1])]))
      try { return await r.handler(req, res, params) } catch (err) {
        return send(res, err.status ?? 500, { error: err.message })
      }
    }
    send(res, 404, { error: `no route ${req.method} ${path} in ${name}` })
  })
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    console.log(`${name} listening on ${server.address().port}`)
  })
  const stop = () => server.close(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  return server
}
