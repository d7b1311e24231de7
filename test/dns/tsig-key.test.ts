// Reading a TSIG key file (`cell start --dns-key FILE`): BIND's key clause or JSON; anything else is DNS_KEY_FILE_INVALID.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readTsigKey, isDnsError } from './imports.ts'

const secret = Buffer.alloc(32, 5).toString('base64')

async function withFile (text: string, fn: (file: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tsig-key-'))
  try {
    const file = join(dir, 'key')
    await writeFile(file, text)
    await fn(file)
  } finally { await rm(dir, { recursive: true, force: true }) }
}

test('the key clause tsig-keygen prints gives name, algorithm and secret', async () => {
  await withFile(`key "organism-update" {\n\talgorithm hmac-sha512;\n\tsecret "${secret}";\n};\n`, async (file) => {
    assert.deepEqual(await readTsigKey(file), { name: 'organism-update', algorithm: 'hmac-sha512', secret })
  })
})

test('JSON works too, and its algorithm defaults to hmac-sha256', async () => {
  await withFile(JSON.stringify({ name: 'k', secret }), async (file) => {
    assert.deepEqual(await readTsigKey(file), { name: 'k', algorithm: 'hmac-sha256', secret })
  })
})

test('a missing file or one without a key is DNS_KEY_FILE_INVALID, naming the file, with a hint', async () => {
  await assert.rejects(readTsigKey('/nonexistent/tsig.key'), (err: unknown) => {
    assert.ok(isDnsError(err, 'DNS_KEY_FILE_INVALID'), String(err))
    assert.match(err.message, /\/nonexistent\/tsig\.key/)
    assert.match(err.hint, /tsig-keygen/)
    return true
  })
  await withFile('secret = hunter2\n', async (file) => {
    await assert.rejects(readTsigKey(file), (err: unknown) => isDnsError(err, 'DNS_KEY_FILE_INVALID') && err.message.includes(file))
  })
})
