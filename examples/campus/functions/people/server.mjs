// People registry: students and teachers, by id.
import { serve, send, store, readJson } from '../lib/service.mjs'

const db = store('people', {
  next: 3,
  people: {
    1: { id: 1, name: 'Ada Lovelace', role: 'teacher' },
    2: { id: 2, name: 'Alan Turing', role: 'student' }
  }
})

serve('people', {
  'GET /people': (_req, res) => send(res, 200, Object.values(db.value.people)),
  'GET /people/:id': (_req, res, { id }) => {
    const person = db.value.people[id]
    return person ? send(res, 200, person) : send(res, 404, { error: `no person ${id}` })
  },
  'POST /people': async (req, res) => {
    const { name, role = 'student' } = await readJson(req)
    if (typeof name !== 'string' || name.length === 0) return send(res, 400, { error: 'name is required' })
    const id = db.value.next++
    db.value.people[id] = { id, name, role }
    db.save()
    send(res, 201, db.value.people[id])
  }
})
