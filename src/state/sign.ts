// Signing behind an interface: ed25519 (node:crypto, raw keys) for real cells, a fake one for the simulator.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { fnv1a } from './canon.ts'

export interface Signer {
  /** The writer id records are signed as (the cell's peer id). */
  readonly id: string
  sign: (message: Uint8Array) => string
}

/** True when sig is writer's signature over message. Unknown writers must return false. */
export type Verify = (writer: string, message: Uint8Array, sig: string) => boolean

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex')

/** An ed25519 signer from a raw 32-byte private seed (libp2p's ed25519 keys hold the same seed). */
export function ed25519Signer (id: string, seed: Uint8Array): Signer {
  if (seed.length !== 32) throw new TypeError('ed25519 seed must be 32 bytes')
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' })
  return { id, sign: (message) => sign(null, message, key).toString('base64') }
}

/** Verifies ed25519 signatures; publicKeyOf maps a writer id to its raw 32-byte key (e.g. decoded from the peer id). */
export function ed25519Verify (publicKeyOf: (writer: string) => Uint8Array | undefined): Verify {
  const cache = new Map<string, KeyObject>()
  return (writer, message, sig) => {
    let key = cache.get(writer)
    if (key == null) {
      const raw = publicKeyOf(writer)
      if (raw == null || raw.length !== 32) return false
      key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' })
      cache.set(writer, key)
    }
    try { return verify(null, message, key, Buffer.from(sig, 'base64')) } catch { return false }
  }
}

/** A fresh ed25519 key pair as raw bytes, for tests. */
export function ed25519KeyPair (): { seed: Uint8Array, publicKey: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d as string, 'base64url')
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url')
  return { seed, publicKey: pub }
}

/**
 * FAKE: a keyed hash, not a signature — anyone can compute it. Only for the simulator, where ed25519 on
 * every message of 10,000 cells would measure crypto instead of dissemination. Never use it in a cell.
 */
export function fakeSignatureSigner (id: string): Signer {
  const decoder = new TextDecoder()
  return { id, sign: (message) => `fake:${fnv1a(`${id}\n${decoder.decode(message)}`).toString(16)}` }
}

/** FAKE: checks fakeSignatureSigner's keyed hash; accepts any writer. Simulator and tests only. */
export function fakeSignatureVerify (): Verify {
  const decoder = new TextDecoder()
  return (writer, message, sig) => sig === `fake:${fnv1a(`${writer}\n${decoder.decode(message)}`).toString(16)}`
}
