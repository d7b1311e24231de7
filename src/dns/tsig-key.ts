// Reads a TSIG key from a file: BIND's key clause (what tsig-keygen prints) or JSON.
import { readFile } from 'node:fs/promises'
import { dnsError } from './errors.ts'
import type { TsigKey } from './tsig.ts'

/** Reads a TSIG key: BIND's `key "name" { algorithm hmac-sha256; secret "…"; };` (what tsig-keygen prints) or JSON. */
export async function readTsigKey (file: string): Promise<TsigKey> {
  const text = await readFile(file, 'utf8').catch((cause: unknown) => { throw dnsError('DNS_KEY_FILE_INVALID', `cannot read the TSIG key file ${file}`, { cause }) })
  const bind = /key\s+"?([^"\s{]+)"?\s*\{[^}]*algorithm\s+([\w-]+)\s*;[^}]*secret\s+"([^"]+)"/s.exec(text)
  if (bind != null) return { name: bind[1], algorithm: bind[2] as TsigKey['algorithm'], secret: bind[3] }
  try {
    const k = JSON.parse(text) as TsigKey
    if (typeof k.name === 'string' && typeof k.secret === 'string') return { ...k, algorithm: k.algorithm ?? 'hmac-sha256' }
  } catch {}
  throw dnsError('DNS_KEY_FILE_INVALID', `${file} holds no TSIG key: give BIND's key clause (tsig-keygen NAME) or {"name","algorithm","secret"}`)
}
