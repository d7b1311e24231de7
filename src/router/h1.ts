// HTTP/1.1 message parsing for the router's byte-level data path: llhttp, through the binding node:http itself uses.
//
// llhttp is what Node and undici parse HTTP with; its strict mode (no lenient flags) refuses the request-smuggling
// shapes (Content-Length with Transfer-Encoding, two Content-Lengths, obs-fold, bare LF, bad chunk sizes). Node does
// not export the binding as an API; `_http_common` is the module node:http takes it from (stable since Node 12).
import { createRequire } from 'node:module'

interface NodeParser {
  initialize: (type: number, resource: object, maxHeaderSize: number, lenient: number) => void
  execute: (data: Buffer) => number | ParseError
  finish: () => ParseError | undefined
  close: () => void
  free: () => void
  [key: number]: unknown
}
interface ParserModule {
  HTTPParser: {
    new (): NodeParser
    REQUEST: number
    RESPONSE: number
    kOnMessageBegin: number
    kOnHeaders: number
    kOnHeadersComplete: number
    kOnBody: number
    kOnMessageComplete: number
    kLenientNone: number
  }
  methods: string[]
}

const { HTTPParser, methods } = createRequire(import.meta.url)('_http_common') as ParserModule

/** What llhttp says about bytes it refused: a stable code (HPE_…) and its reason. */
export interface ParseError extends Error { code: string, reason?: string, bytesParsed?: number }

/** One message head as parsed. `headers` is flat [name, value, …] exactly as received (Node's rawHeaders shape). */
export interface Head {
  method: string
  url: string
  status: number
  reason: string
  headers: string[]
  /** 1 for HTTP/1.x (llhttp also lets 0.9 and 2.0 through as request lines). */
  versionMajor: number
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  versionMinor: number
  upgrade: boolean
  keepAlive: boolean
}

export interface MessageHandlers {
  onBegin: () => void
  /** Returns true for a response that has no body whatever its headers say (the answer to a HEAD). */
  onHead: (head: Head) => boolean
  onBody: (chunk: Buffer) => void
  onEnd: () => void
}

/**
 * A parser for a stream of requests (kind 'request') or responses; handlers see each message in order. Heads with more
 * than 32 header lines come in pieces (kOnHeaders) and are put together here.
 */
export class MessageParser {
  private readonly parser: NodeParser
  private pending: string[] = []
  private pendingUrl = ''

  constructor (kind: 'request' | 'response', maxHeaderSize: number, h: MessageHandlers) {
    const p = new HTTPParser()
    p.initialize(kind === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE, {}, maxHeaderSize, HTTPParser.kLenientNone)
    p[HTTPParser.kOnMessageBegin] = h.onBegin
    p[HTTPParser.kOnHeaders] = (headers: string[], url: string) => {
      for (const x of headers) this.pending.push(x)
      this.pendingUrl += url
    }
    p[HTTPParser.kOnHeadersComplete] = (major: number, minor: number, headers: string[] | undefined, method: number | undefined,
      url: string | undefined, status: number | undefined, reason: string | undefined, upgrade: boolean, keepAlive: boolean): number => {
      let all = headers ?? []
      let target = url ?? ''
      if (this.pending.length > 0 || this.pendingUrl !== '') {
        all = [...this.pending, ...all]
        target = this.pendingUrl + target
        this.pending = []
        this.pendingUrl = ''
      }
      const skipBody = h.onHead({
        method: method == null ? '' : methods[method], url: target, status: status ?? 0, reason: reason ?? '',
        headers: all, versionMajor: major, versionMinor: minor, upgrade, keepAlive
      })
      return skipBody ? 1 : 0
    }
    p[HTTPParser.kOnBody] = h.onBody
    p[HTTPParser.kOnMessageComplete] = h.onEnd
    this.parser = p
  }

  /** Parses bytes; returns how many were consumed (fewer than given after an upgrade head) or the error. */
  execute (data: Buffer): number | ParseError {
    return this.parser.execute(data)
  }

  /** The peer closed: ends a message whose body runs to the close; an error if a message was cut short. */
  finish (): ParseError | undefined {
    return this.parser.finish()
  }

  free (): void {
    this.parser.close?.()
  }
}
