// The identity file: created 0600, reused on restart, refused when others can read it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { createPeerNode, loadOrCreateIdentity } from '../../src/peers/index.ts'
import { isOrganismError } from '../../src/core/errors.ts'
import { tempDir } from './helpers.ts'

test('the key file is created with mode 0600 and reused on restart', async (t) => {
  const file = join(await tempDir(t), 'sub', 'peer.key')
  const first = await loadOrCreateIdentity(file)
  assert.equal((await stat(file)).mode & 0o777, 0o600)
  assert.equal(first.privateKey.type, 'Ed25519')
  const again = await loadOrCreateIdentity(file)
  assert.equal(again.peerId.toString(), first.peerId.toString())
})

test('a key file readable by group or others is refused with a chmod hint', async (t) => {
  const file = join(await tempDir(t), 'peer.key')
  await loadOrCreateIdentity(file)
  await chmod(file, 0o644)
  await assert.rejects(loadOrCreateIdentity(file), (err) => isOrganismError(err, 'PEERS_KEY_FILE_INSECURE') && err.hint.includes('chmod 600'))
  await chmod(file, 0o600)
  await loadOrCreateIdentity(file)
})

test('a file that is not an ed25519 key is refused', async (t) => {
  const dir = await tempDir(t)
  const garbage = join(dir, 'garbage.key')
  await writeFile(garbage, 'not a key', { mode: 0o600 })
  await assert.rejects(loadOrCreateIdentity(garbage), (err) => isOrganismError(err, 'PEERS_KEY_FILE_INVALID'))
  const secp = join(dir, 'secp.key')
  await writeFile(secp, privateKeyToProtobuf(await generateKeyPair('secp256k1')), { mode: 0o600 })
  await assert.rejects(loadOrCreateIdentity(secp), (err) => isOrganismError(err, 'PEERS_KEY_FILE_INVALID'))
})

test('a peer port that is taken is a typed error naming the address; a free port then works', async (t) => {
  const dir = await tempDir(t)
  const busy = createServer()
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
  t.after(() => { busy.close() })
  const port = (busy.address() as AddressInfo).port
  const listen = [`/ip4/127.0.0.1/tcp/${port}`]
  await assert.rejects(createPeerNode({ identityFile: join(dir, 'peer.key'), organism: 'busy', found: true, listen }),
    (err) => isOrganismError(err, 'PEERS_PORT_IN_USE') && err.message.includes(listen[0]) && err.hint.includes('peers.port'))
  // The same options on a free port work: the error was the port, not the rest.
  const node = await createPeerNode({ identityFile: join(dir, 'peer.key'), organism: 'busy', found: true, listen: ['/ip4/127.0.0.1/tcp/0'] })
  await node.stop()
})
