// The authoritative server: UDP (node:dgram) and TCP (node:net) on one port, both fed to the pure answerer.
import { createSocket } from 'node:dgram'
import type { Socket as UdpSocket } from 'node:dgram'
import { createServer, isIPv6 } from 'node:net'
import type { Server, Socket } from 'node:net'
import { decode } from 'dns-packet'
import type { Startable } from '../core/lifecycle.ts'
import { logger } from '../core/log.ts'
import { dnsError } from './errors.ts'
import { answerFromZone } from './answer.ts'
import { buildZone } from './records.ts'
import type { Zone } from './records.ts'
import type { ZoneView } from './types.ts'
import { RCODE, QR_BIT, Deframer, encodeResponse, frame, headerOnlyReply, udpLimit } from './wire.ts'
import { createRateLimiter, defaultRateLimit, type RateLimitOptions } from './rate-limit.ts'

/** The header's TC flag: the answer did not fit, ask again over TCP. */
const TC_BIT = 0x0200

export interface DnsServerOptions {
  /** 0 picks a free port (the same one for UDP and TCP). */
  port: number
  host?: string
  /** Read on every query; return the same object while nothing changed so the zone is built once. */
  view: () => ZoneView
  /** A TCP connection with no complete query for this long is closed (RFC 7766 suggests seconds). */
  tcpIdleTimeoutMs?: number
  maxTcpConnections?: number
  /** UDP response rate limiting per source network (default 50/s, burst 100, every 2nd limited one truncated). */
  rateLimit?: Partial<RateLimitOptions>
}

export interface DnsServerStats {
  queries: number
  formerr: number
  dropped: number
  truncated: number
  servfail: number
  /** UDP queries over their source's budget: answered truncated (slipped) or not at all. */
  rateLimited: number
}

export interface DnsServer extends Startable {
  /** The bound port after start() (the chosen one when started with port 0). */
  readonly port: number
  stats: () => DnsServerStats
}

const log = logger('dns')

export function createDnsServer (options: DnsServerOptions): DnsServer {
  const host = options.host ?? '127.0.0.1'
  const idleMs = options.tcpIdleTimeoutMs ?? 10_000
  const maxConnections = options.maxTcpConnections ?? 256
  const stats: DnsServerStats = { queries: 0, formerr: 0, dropped: 0, truncated: 0, servfail: 0, rateLimited: 0 }
  const limiter = createRateLimiter({ ...defaultRateLimit, ...options.rateLimit })
  const connections = new Set<Socket>()
  let udp: UdpSocket | undefined
  let tcp: Server | undefined
  let port = 0
  let cached: { view: ZoneView, zone: Zone } | undefined

  const zoneFor = (view: ZoneView): Zone => {
    if (cached?.view !== view) cached = { view, zone: buildZone(view) }
    return cached.zone
  }

  /** One message in, at most one message out; never throws (a bad packet must not take the server down). */
  const handle = (message: Buffer, transport: 'udp' | 'tcp', from = ''): Buffer | undefined => {
    // Too short for a header, or a response (answering it could loop two servers): drop silently.
    if (message.length < 12 || (message.readUInt16BE(2) & QR_BIT) !== 0) { stats.dropped++; return undefined }
    let query
    try {
      query = decode(message)
    } catch {
      stats.formerr++
      return headerOnlyReply(message, RCODE.FORMERR)
    }
    stats.queries++
    // Answers are what is limited (as BIND's RRL does): garbage that gets none costs a source nothing, and a
    // header-only FORMERR is no larger than what provoked it.
    if (transport === 'udp') {
      const verdict = limiter.decide(from, Date.now())
      if (verdict !== 'answer') {
        stats.rateLimited++
        if (verdict === 'drop') return undefined
        const tc = headerOnlyReply(message, RCODE.NOERROR)
        tc.writeUInt16BE(tc.readUInt16BE(2) | TC_BIT, 2)
        return tc
      }
    }
    try {
      const response = answerFromZone(query, zoneFor(options.view()))
      const { bytes, truncated } = encodeResponse(response, transport === 'udp' ? udpLimit(query) : 65535)
      if (truncated) stats.truncated++
      return bytes
    } catch (err) {
      stats.servfail++
      log.warn('answer failed; sent SERVFAIL', { err })
      return headerOnlyReply(message, RCODE.SERVFAIL)
    }
  }

  const onConnection = (conn: Socket): void => {
    if (connections.size >= maxConnections) { conn.destroy(); return }
    connections.add(conn)
    conn.setNoDelay(true)
    conn.setTimeout(idleMs, () => conn.destroy())
    conn.on('close', () => connections.delete(conn))
    conn.on('error', (err) => log.debug('tcp connection error', { err }))
    const deframer = new Deframer()
    conn.on('data', (chunk: Buffer) => {
      for (const message of deframer.push(chunk)) {
        const out = handle(message, 'tcp')
        if (out == null) continue
        // A client that sends without reading must not make us buffer without bound.
        if (!conn.write(frame(out))) { conn.pause(); conn.once('drain', () => conn.resume()) }
      }
    })
  }

  const bind = async (wanted: number): Promise<void> => {
    const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' })
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(wanted, host, () => { socket.off('error', reject); resolve() })
    })
    const chosen = socket.address().port
    const server = createServer({ pauseOnConnect: false }, onConnection)
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(chosen, host, () => { server.off('error', reject); resolve() })
      })
    } catch (err) {
      socket.close()
      throw err
    }
    socket.on('error', (err) => log.warn('udp socket error', { err }))
    socket.on('message', (message, rinfo) => {
      const out = handle(message, 'udp', rinfo.address)
      if (out != null) socket.send(out, rinfo.port, rinfo.address, (err) => { if (err != null) log.debug('udp send failed', { err }) })
    })
    server.on('error', (err) => log.warn('tcp server error', { err }))
    udp = socket
    tcp = server
    port = chosen
  }

  return {
    name: 'dns',
    get port () { return port },
    stats: () => ({ ...stats }),
    async start () {
      if (udp != null) return
      // With port 0 the UDP port the kernel picks may be taken on TCP; try a few.
      const attempts = options.port === 0 ? 8 : 1
      for (let i = 0; ; i++) {
        try {
          await bind(options.port)
          log.info('dns listening', { host, port })
          return
        } catch (err) {
          if (i + 1 < attempts && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue
          throw dnsError('DNS_LISTEN_FAILED', `cannot listen for DNS on ${host}:${options.port} (UDP and TCP): ${(err as Error).message}`, { cause: err, details: { host, port: options.port } })
        }
      }
    },
    async stop () {
      const socket = udp
      const server = tcp
      udp = undefined
      tcp = undefined
      for (const conn of connections) conn.destroy()
      connections.clear()
      if (socket != null) await new Promise<void>((resolve) => socket.close(() => resolve()))
      if (server != null) await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
