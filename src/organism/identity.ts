// The cell's peer key as signer and verifier of organism state: the same ed25519 key libp2p uses.
import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { ed25519Signer, ed25519Verify } from '../state/index.ts'
import type { Signer, Verify } from '../state/index.ts'

export function stateSigner (peerId: string, key: PrivateKey): Signer {
  // libp2p's raw ed25519 private key is the 32-byte seed followed by the public key.
  return ed25519Signer(peerId, key.raw.subarray(0, 32))
}

export function stateVerify (): Verify {
  return ed25519Verify((writer) => {
    try { return peerIdFromString(writer).publicKey?.raw } catch { return undefined }
  })
}
