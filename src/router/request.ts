// A client's request as the data path holds it (pure): built from its parsed head in one pass over the headers.
import { requestFraming } from './frame.ts'
import type { Framing } from './frame.ts'
import type { Head } from './h1.ts'
import { absoluteTarget, setHostHeader } from './edge.ts'
import { HOP_HEADER } from './headers.ts'

/** A client's request as the data path holds it: its head, and its body as it arrives. */
export interface PendingRequest {
  head: Head
  /** Origin-form target (an absolute-form one rewritten against its host). */
  url: string
  host: string | undefined
  cookie: string | undefined
  ua: string | undefined
  hop: string | undefined
  expectContinue: boolean
  framing: Framing
  length: number
  /** Body bytes that came before anything took them. */
  body: Buffer[]
  buffered: number
  bodyDone: boolean
  /** Takes body bytes as they come once an exchange started; `onBodyDone` once the body ended. */
  sink: ((chunk: Buffer) => void) | null
  onBodyDone: (() => void) | null
  startedAt: number
  fn: string
  /** Answered by the router's node:http handler, which counts it itself. */
  byHandler: boolean
}

/** The `fn` of a request whose Transfer-Encoding is not plain chunked: refused with 501 once its turn comes. */
export const UNKNOWN_CODING = '\0te'

export function pendingRequest (h: Head, startedAt: number): PendingRequest {
  let url = h.url
  let host: string | undefined
  let cookie: string | undefined
  let ua: string | undefined
  let hop: string | undefined
  let expect = false
  const hs = h.headers
  for (let i = 0; i < hs.length; i += 2) {
    const n = hs[i]
    // One pass, by length first: most names match none of these.
    if (n.length === 4 && n.toLowerCase() === 'host') host = hs[i + 1]
    else if (n.length === 6 && n.toLowerCase() === 'cookie') cookie = cookie == null ? hs[i + 1] : `${cookie}; ${hs[i + 1]}`
    else if (n.length === 10 && n.toLowerCase() === 'user-agent') ua = hs[i + 1]
    else if (n.length === 6 && n.toLowerCase() === 'expect') expect = hs[i + 1].toLowerCase() === '100-continue'
    else if (n.length === HOP_HEADER.length && n.toLowerCase() === HOP_HEADER) hop = hs[i + 1]
  }
  if (url.charCodeAt(0) !== 47 /* / */) {
    // Absolute form (RFC 9112 §3.2.2): its authority is the host, whatever the Host header says.
    const t = absoluteTarget(url)
    if (t != null) { url = t.path; host = t.host; setHostHeader(h.headers, t.host) }
  }
  const f = requestFraming(h.headers)
  return {
    head: h, url, host, cookie, ua, hop, expectContinue: expect, framing: f?.framing ?? 'none', length: f?.length ?? 0,
    body: [], buffered: 0, bodyDone: false, sink: null, onBodyDone: null, startedAt, fn: f == null ? UNKNOWN_CODING : '', byHandler: false
  }
}

/** What a request that could not be parsed is counted as. */
export const UNROUTED_REQUEST: PendingRequest = {
  head: { method: '', url: '', status: 0, reason: '', headers: [], versionMajor: 1, versionMinor: 1, upgrade: false, keepAlive: false },
  url: '', host: undefined, cookie: undefined, ua: undefined, hop: undefined, expectContinue: false, framing: 'none', length: 0,
  body: [], buffered: 0, bodyDone: true, sink: null, onBodyDone: null, startedAt: 0, fn: '', byHandler: false
}
