// Records: how one is signed, and the shape check every incoming record passes before merge.
import { canonicalBytes } from './canon.ts'
import type { Signer } from './sign.ts'
import type { CellBody, PlacementBody, RecordBody, SignedRecord } from './types.ts'

export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024

export function cellKey (peer: string): string { return `cell/${peer}` }
export function placementKey (fn: string): string { return `placement/${fn}` }

/** The bytes a signature covers: everything but the signature itself. */
export function signedBytes (r: Omit<SignedRecord, 'sig'>): Uint8Array {
  return canonicalBytes({ key: r.key, writer: r.writer, version: r.version, body: r.body })
}

export function signRecord<B extends RecordBody> (signer: Signer, key: string, version: number, body: B): SignedRecord<B> {
  const unsigned = { key, writer: signer.id, version, body }
  return { ...unsigned, sig: signer.sign(signedBytes(unsigned)) }
}

/** Encoded size (UTF-16 units of its JSON, close to bytes for these ASCII fields): what the size limit applies to. */
export function recordSize (r: SignedRecord): number {
  return JSON.stringify(r).length
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)
const isStr = (x: unknown, max = 512): x is string => typeof x === 'string' && x.length > 0 && x.length <= max
const isOptStr = (x: unknown, max = 512): boolean => x === undefined || (typeof x === 'string' && x.length <= max)
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0
const isStrList = (x: unknown): x is string[] => Array.isArray(x) && x.length <= 256 && x.every((s) => isStr(s, 1024))
const isTraffic = (x: unknown): boolean => x === undefined || (isObj(x) && Object.keys(x).length <= 256 &&
  Object.entries(x).every(([fn, t]) => isStr(fn, 256) && isObj(t) && isNum(t.rps) && isNum(t.p99)))

const isScale = (x: unknown): boolean => x === undefined || (isObj(x) && Object.keys(x).length <= 256 &&
  Object.entries(x).every(([fn, n]) => isStr(fn, 256) && Number.isSafeInteger(n) && (n as number) >= 1 && (n as number) <= 1024))

function cellBodyOk (b: Record<string, unknown>): boolean {
  const a = b.addrs; const l = b.load
  return isStr(b.name, 256) && isObj(a) && isStrList(a.peer) && isOptStr(a.router) && isOptStr(a.dns) &&
    isObj(l) && isNum(l.rps) && isNum(l.cpu) && isNum(l.memory) && isStrList(b.functions) && isTraffic(b.traffic) && isScale(b.scale) &&
    isStr(b.software, 128) && typeof b.genome === 'string' && b.genome.length <= 128 && isOptStr(b.tree, 128) && isCount(b.incarnation) &&
    (b.at === undefined || isNum(b.at))
}

function placementBodyOk (b: Record<string, unknown>): boolean {
  const h = b.handoff
  return isStr(b.fn, 256) && isStr(b.owner) && isCount(b.epoch) && (b.state === 'serving' || b.state === 'moving') &&
    isOptStr(b.to) && (b.at === undefined || isNum(b.at)) &&
    (h === undefined || (isObj(h) && isStr(h.from) && isStr(h.to) && isCount(h.epoch) && isStr(h.sig, 1024)))
}

/** The record if x has a record's shape (and its key matches its body), else undefined. Signatures are checked in merge. */
export function asRecord (x: unknown): SignedRecord | undefined {
  if (!isObj(x) || !isStr(x.key, 600) || !isStr(x.writer) || !isCount(x.version) || !isStr(x.sig, 1024) || !isObj(x.body)) return undefined
  const b = x.body
  if (b.kind === 'cell') {
    if (!cellBodyOk(b) || !x.key.startsWith('cell/')) return undefined
  } else if (b.kind === 'placement') {
    if (!placementBodyOk(b) || x.key !== placementKey(b.fn as string)) return undefined
  } else return undefined
  return x as unknown as SignedRecord
}

export function isCellRecord (r: SignedRecord): r is SignedRecord<CellBody> { return r.body.kind === 'cell' }
export function isPlacementRecord (r: SignedRecord): r is SignedRecord<PlacementBody> { return r.body.kind === 'placement' }
