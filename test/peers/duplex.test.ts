// A member stream as a Duplex: a write the peer can no longer take fails on the stream, and never as an unhandled
// 'error' that would end the cell (a replica's last refusal written to a stream its owner had just reset did).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Stream } from '@libp2p/interface'
import { streamToDuplex } from '../../src/peers/duplex.ts'

/** Stands in for a libp2p stream the peer has closed: sending on it throws, as yamux does. */
function closedStreamFake (): Stream {
  return {
    status: 'closed',
    readStatus: 'closed',
    maxReadBufferLength: 0,
    addEventListener: () => {},
    send: () => { throw Object.assign(new Error('Cannot write to a stream that is closed'), { name: 'StreamStateError' }) },
    onDrain: async () => {},
    close: async () => {},
    abort: () => {},
    pause: () => {},
    resume: () => {}
  } as unknown as Stream
}

test('a write to a stream the peer closed fails on the Duplex and does not crash the process', async () => {
  const crashes: unknown[] = []
  const onCrash = (err: unknown): void => { crashes.push(err) }
  process.on('uncaughtException', onCrash)
  try {
    const d = streamToDuplex(closedStreamFake())
    const seen = new Promise<Error | null | undefined>((resolve) => { d.write('a last refusal', resolve) })
    assert.match(String((await seen)?.message), /closed/, 'the writer hears of it')
    await new Promise((resolve) => setTimeout(resolve, 20))
    assert.equal(d.destroyed, true)
    assert.deepEqual(crashes, [])
  } finally {
    process.off('uncaughtException', onCrash)
  }
})
