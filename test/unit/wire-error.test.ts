// toWireError: what the local API answers for a failure, whatever was thrown.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { toWireError } from '../../src/core/errors.ts'
import { migrateError } from '../../src/migrate/errors.ts'
import { peersError } from '../../src/peers/errors.ts'

test('a typed error keeps its code and hint; one that crossed a link carries the remote cell\'s code; anything else the fallback', () => {
  const own = toWireError(migrateError('MIGRATE_NOT_OWNER', 'not mine'), 'MIGRATE_REFUSED')
  assert.equal(own.code, 'MIGRATE_NOT_OWNER')
  assert.match(own.hint, /owner/)
  const remote = toWireError(peersError('PEERS_REQUEST_FAILED', 'b answered MIGRATE_UNKNOWN_CELL', { details: { remoteCode: 'MIGRATE_UNKNOWN_CELL' } }), 'MIGRATE_REFUSED')
  assert.equal(remote.code, 'MIGRATE_UNKNOWN_CELL')
  assert.deepEqual(toWireError(new Error('boom'), 'IMPRINT_EXEC_FAILED'), { code: 'IMPRINT_EXEC_FAILED', message: 'boom', hint: 'see the cell log' })
  assert.equal(toWireError('a string', 'X').message, 'a string')
  assert.equal(toWireError(Object.assign(new Error('x'), { code: 23 }), 'X').code, 'X', 'a numeric code (a DOMException) is not ours')
})
