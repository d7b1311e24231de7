// Course catalogue: the courses the other tools refer to.
import { serve, send, store, readJson } from '../lib/service.mjs'

const db = store('courses', {
  courses: {
    'cs101': { id: 'cs101', title: 'Introduction to Programming', credits: 6 },
    'ma201': { id: 'ma201', title: 'Linear Algebra', credits: 5 },
    'bi110': { id: 'bi110', title: 'Cell Biology', credits: 5 }
  }
})

serve('catalog', {
  'GET /courses': (_req, res) => send(res, 200, Object.values(db.value.courses)),
  'GET /courses/:id': (_req, res, { id }) => {
    const course = db.value.courses[id]
    return course ? send(res, 200, course) : send(res, 404, { error: `no course ${id}` })
  },
  'POST /courses': async (req, res) => {
    const { id, title, credits = 5 } = await readJson(req)
    if (typeof id !== 'string' || typeof title !== 'string') return send(res, 400, { error: 'id and title are required strings' })
    db.value.courses[id] = { id, title, credits }
    db.save()
    send(res, 201, db.value.courses[id])
  }
})
