// The cell's identity: an ed25519 libp2p key kept in a 0600 file on its own host, never sent anywhere.
import { open, readFile, stat, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peersError } from './errors.ts'

export interface Identity {
  readonly privateKey: PrivateKey
  readonly peerId: PeerId
}

/** Reads the key file, or creates it (mode 0600, exclusive) when it does not exist yet. */
export async function loadOrCreateIdentity (file: string): Promise<Identity> {
  let bytes: Uint8Array
  try {
    const info = await stat(file)
    // Group or other bits set: someone else may have read the key; refuse rather than trust it.
    if ((info.mode & 0o077) !== 0) {
      throw peersError('PEERS_KEY_FILE_INSECURE', `peer key file ${file} has mode ${(info.mode & 0o777).toString(8)}, expected 600`, {
        hint: `run \`chmod 600 ${file}\`; if others could read it, move it away so the cell makes a new identity`,
        details: { file }
      })
    }
    bytes = await readFile(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    return await createIdentity(file)
  }
  return fromBytes(bytes, file)
}

async function createIdentity (file: string): Promise<Identity> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 })
  const privateKey = await generateKeyPair('Ed25519')
  // 'wx' fails if another process created the file meanwhile; the mode applies at creation, before any byte is written.
  const handle = await open(file, 'wx', 0o600)
  try {
    await handle.writeFile(privateKeyToProtobuf(privateKey))
    await handle.sync()
  } finally {
    await handle.close()
  }
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey) }
}

function fromBytes (bytes: Uint8Array, file: string): Identity {
  let privateKey: PrivateKey
  try {
    privateKey = privateKeyFromProtobuf(bytes)
  } catch (cause) {
    throw peersError('PEERS_KEY_FILE_INVALID', `peer key file ${file} cannot be decoded`, { cause, details: { file } })
  }
  if (privateKey.type !== 'Ed25519') {
    throw peersError('PEERS_KEY_FILE_INVALID', `peer key file ${file} holds a ${privateKey.type} key, expected Ed25519`, { details: { file } })
  }
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey) }
}
