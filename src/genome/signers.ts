// allowed_signers files and SSH signatures, read without I/O: entries, key fingerprints, the key inside a signature.
import { createHash } from 'node:crypto'

export interface SignerEntry {
  readonly principals: readonly string[]
  /** null when the line sets no namespaces= option (any namespace). */
  readonly namespaces: readonly string[] | null
  readonly certAuthority: boolean
  readonly keyType: string
  /** "SHA256:…" as ssh-keygen and git's %GK print it. */
  readonly fingerprint: string
  readonly line: number
}

/** Fingerprint of a public key blob, in OpenSSH's SHA256 form (base64 without padding). */
export function fingerprintOf (blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')
}

/** Splits on spaces outside double quotes (options like namespaces="git,file" may be quoted). */
function tokens (line: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (const ch of line) {
    if (ch === '"') quoted = !quoted
    if (!quoted && /\s/.test(ch)) { if (cur !== '') out.push(cur); cur = '' } else cur += ch
  }
  if (cur !== '') out.push(cur)
  return out
}

const KEY_TYPE_RE = /^(ssh-|ecdsa-|sk-)/

/** Entries of an allowed_signers file (ssh-keygen(1) ALLOWED SIGNERS); lines it cannot read are skipped. */
export function parseAllowedSigners (text: string): SignerEntry[] {
  const out: SignerEntry[] = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const t = tokens(line)
    let k = 1
    let options = ''
    if (t[k] != null && !KEY_TYPE_RE.test(t[k])) { options = t[k]; k++ }
    const keyType = t[k]
    const keyData = t[k + 1]
    if (keyType == null || keyData == null || !KEY_TYPE_RE.test(keyType) || !/^[A-Za-z0-9+/]+=*$/.test(keyData)) return
    const opts = options.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/).filter(o => o !== '')
    const ns = opts.find(o => o.toLowerCase().startsWith('namespaces='))
    out.push({
      principals: t[0].split(','),
      namespaces: ns == null ? null : ns.slice('namespaces='.length).replace(/"/g, '').split(','),
      certAuthority: opts.some(o => o.toLowerCase() === 'cert-authority'),
      keyType,
      fingerprint: fingerprintOf(Buffer.from(keyData, 'base64')),
      line: i + 1
    })
  })
  return out
}

/**
 * The entry that lets `fingerprint` sign git commits, or null. Certificate authorities are not accepted:
 * the fingerprint git reports is the signing key's, and genomes list signing keys directly.
 */
export function gitSignerFor (entries: readonly SignerEntry[], fingerprint: string): SignerEntry | null {
  return entries.find(e => e.fingerprint === fingerprint && !e.certAuthority && (e.namespaces == null || e.namespaces.includes('git'))) ?? null
}

/** The gpgsig header of a raw commit object (continuation lines joined), or null when unsigned. */
export function signatureOf (rawCommit: string): string | null {
  const header = rawCommit.split('\n\n')[0]
  const m = /^gpgsig(?:-sha256)? (.*(?:\n .*)*)/m.exec(header)
  return m == null ? null : m[1].split('\n').map(l => l.replace(/^ /, '')).join('\n')
}

/** The fingerprint of the public key inside an armored SSH signature (SSHSIG), or null if it is not one. */
export function sshSignatureKey (armored: string): string | null {
  const m = /-----BEGIN SSH SIGNATURE-----([\s\S]*?)-----END SSH SIGNATURE-----/.exec(armored)
  if (m == null) return null
  const blob = Buffer.from(m[1].replace(/\s+/g, ''), 'base64')
  if (blob.length < 14 || blob.subarray(0, 6).toString('latin1') !== 'SSHSIG') return null
  const len = blob.readUInt32BE(10)
  if (14 + len > blob.length) return null
  return fingerprintOf(blob.subarray(14, 14 + len))
}
