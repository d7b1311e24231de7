// Grade book: a grade links a person (people) and a course (catalog); both are checked over REST.
import { serve, send, store, readJson, call } from '../lib/service.mjs'

const db = store('grades', { grades: [] })

serve('grades', {
  'GET /grades': (_req, res) => send(res, 200, db.value.grades),
  'GET /grades/:student': async (_req, res, { student }) => {
    const person = await call('people', `/people/${encodeURIComponent(student)}`)
    if (person.status !== 200) return send(res, 404, { error: `no person ${student}` })
    const mine = db.value.grades.filter((g) => String(g.student) === student)
    send(res, 200, { student: person.body, grades: mine })
  },
  'POST /grades': async (req, res) => {
    const { student, course, grade } = await readJson(req)
    const [person, c] = await Promise.all([
      call('people', `/people/${encodeURIComponent(student)}`),
      call('catalog', `/courses/${encodeURIComponent(course)}`)
    ])
    if (person.status !== 200) return send(res, 422, { error: `no person ${student} in people` })
    if (c.status !== 200) return send(res, 422, { error: `no course ${course} in catalog` })
    if (typeof grade !== 'number' || grade < 1 || grade > 6) return send(res, 400, { error: 'grade must be a number from 1 to 6' })
    const entry = { student, course, grade, at: new Date().toISOString() }
    db.value.grades.push(entry)
    db.save()
    send(res, 201, entry)
  }
})
