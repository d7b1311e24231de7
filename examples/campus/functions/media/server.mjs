// Media store: uploads streamed into $DATA_DIR/files, served back with their type.
import { createReadStream, createWriteStream, mkdirSync, readdirSync, statSync, renameSync, unlinkSync } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { join } from 'node:path'
import { serve, send, store } from '../lib/service.mjs'

const dir = join(process.env.DATA_DIR ?? '.', 'files')
mkdirSync(dir, { recursive: true })
const meta = store('media', { types: {} })
const limit = Number(process.env.MAX_UPLOAD_BYTES ?? 50 * 1024 * 1024)
const safe = (name) => /^[A-Za-z0-9._-]{1,128}$/.test(name) && !name.startsWith('.')

serve('media', {
  'GET /files': (_req, res) => send(res, 200, readdirSync(dir).filter(safe).map((name) => ({ name, bytes: statSync(join(dir, name)).size }))),
  'PUT /files/:name': async (req, res, { name }) => {
    if (!safe(name)) return send(res, 400, { error: 'file names are letters, digits, dot, dash, underscore' })
    if (Number(req.headers['content-length'] ?? 0) > limit) return send(res, 413, { error: `uploads are limited to ${limit} bytes` })
    const tmp = join(dir, `.${name}.${process.pid}.part`)
    let size = 0
    req.on('data', (c) => { size += c.length; if (size > limit) req.destroy(new Error('too large')) })
    try { await pipeline(req, createWriteStream(tmp)) } catch (err) {
      try { unlinkSync(tmp) } catch {}
      return send(res, size > limit ? 413 : 400, { error: err.message })
    }
    renameSync(tmp, join(dir, name))
    meta.value.types[name] = req.headers['content-type'] ?? 'application/octet-stream'
    meta.save()
    send(res, 201, { name, bytes: size })
  },
  'GET /files/:name': (_req, res, { name }) => {
    if (!safe(name)) return send(res, 400, { error: 'bad file name' })
    let st
    try { st = statSync(join(dir, name)) } catch { return send(res, 404, { error: `no file ${name}` }) }
    res.writeHead(200, { 'content-type': meta.value.types[name] ?? 'application/octet-stream', 'content-length': st.size })
    createReadStream(join(dir, name)).pipe(res)
  }
})
