// Discussion board: threads per course (checked against catalog), posts persisted in $DATA_DIR.
import { serve, send, store, readJson, call } from '../lib/service.mjs'

const db = store('posts', { posts: [] })

serve('forum', {
  'GET /courses/:course/posts': (_req, res, { course }) =>
    send(res, 200, db.value.posts.filter((p) => p.course === course)),
  'POST /courses/:course/posts': async (req, res, { course }) => {
    const { author, text } = await readJson(req)
    if (typeof text !== 'string' || text.trim() === '') return send(res, 400, { error: 'text is required' })
    const c = await call('catalog', `/courses/${encodeURIComponent(course)}`)
    if (c.status !== 200) return send(res, 422, { error: `no course ${course} in catalog` })
    const post = { id: db.value.posts.length + 1, course, author: author ?? 'anonymous', text, at: new Date().toISOString() }
    db.value.posts.push(post)
    db.save()
    send(res, 201, post)
  }
})
