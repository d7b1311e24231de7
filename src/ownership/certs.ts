// The organism's store CA: an ECDSA P-256 authority kept by the cell that runs the store, which signs one certificate
// per member cell for the member's own public key (the private key never leaves its cell). etcd requires it on both
// sides: only members reach the store, and members reach only the real store.
import { webcrypto, X509Certificate as NodeX509 } from 'node:crypto'
// @peculiar/x509 builds on tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
type Key = webcrypto.CryptoKey
const crypto = webcrypto
// The library takes the DOM's Crypto type; Node's webcrypto is that implementation.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

export interface Pem { readonly cert: string, readonly key: string }

const pemKey = async (key: Key): Promise<string> => {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', key))
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PRIVATE KEY-----\n`
}
const importKey = async (pem: string): Promise<Key> => {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')
  return await crypto.subtle.importKey('pkcs8', der, ALG, true, ['sign'])
}
const serial = (): string => Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1')
const years = (n: number): Date => new Date(Date.now() + n * 365 * 24 * 3600_000)

/** A new authority for one organism (the store's trust root). */
export async function createStoreCa (organism: string): Promise<Pem> {
  const keys = await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=organism ${organism} store CA`,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: years(20),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)
    ]
  })
  return { cert: cert.toString('pem'), key: await pemKey(keys.privateKey) }
}

/** A member's key pair: the private key stays with the member, the public key (SPKI, base64) is sent to be signed. */
export async function createMemberKey (): Promise<{ key: string, publicKey: string }> {
  const keys = await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])
  return { key: await pemKey(keys.privateKey), publicKey: Buffer.from(await crypto.subtle.exportKey('spki', keys.publicKey)).toString('base64') }
}

/**
 * Signs a certificate for a member's public key: the cell's peer id as its name, client and server use, valid for
 * the given IP addresses (where its store member listens) and localhost.
 */
export async function issueMemberCert (ca: Pem, member: { peerId: string, publicKey: string, ips: readonly string[] }): Promise<string> {
  const caCert = new x509.X509Certificate(ca.cert)
  const publicKey = await crypto.subtle.importKey('spki', Buffer.from(member.publicKey, 'base64'), ALG, true, ['verify'])
  const ips = [...new Set(['127.0.0.1', ...member.ips])]
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${member.peerId}`,
    issuer: caCert.subject,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: years(10),
    signingAlgorithm: ALG,
    publicKey,
    signingKey: await importKey(ca.key),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'localhost' }, ...ips.map((ip) => ({ type: 'ip' as const, value: ip }))])
    ]
  })
  return cert.toString('pem')
}

/** True when `cert` was signed by the CA (Node's own X.509 check, not the library that made it). */
export function signedBy (cert: string, ca: string): boolean {
  return new NodeX509(cert).verify(new NodeX509(ca).publicKey)
}
