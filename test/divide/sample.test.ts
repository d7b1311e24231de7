// Turning cell readings into policy samples: CPU seconds become cores between two readings.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { sampleOf } from '../../src/divide/index.ts'

const reading = (name: string, cpuSeconds: number, rps = 0) => ({ name, cpuSeconds, memoryBytes: 5e7, dataBytes: 1e6, traffic: { requestsPerSecond: rps, distinctUsers: 3 } })

test('CPU cores are the rate of CPU seconds between readings; the first reading and a reset counter give 0', () => {
  const first = sampleOf([reading('a', 10, 42)], null, 1000)
  assert.deepEqual(first.sample.functions.a, { rps: 42, users: 3, dataBytes: 1e6, cpuCores: 0, memoryBytes: 5e7 })
  const second = sampleOf([reading('a', 13), reading('b', 1)], first.cpu, 3000)
  assert.equal(second.sample.functions.a.cpuCores, 1.5)
  assert.equal(second.sample.functions.b.cpuCores, 0, 'a function seen for the first time has no rate yet')
  const reset = sampleOf([reading('a', 2)], second.cpu, 5000)
  assert.equal(reset.sample.functions.a.cpuCores, 0)
  assert.equal(sampleOf([reading('a', 20)], reset.cpu, 5000).sample.functions.a.cpuCores, 0, 'no time passed, no rate')
})
