// SshExecutor: an ssh2 client whose host key must match the pin before anything is sent past the handshake.
import { createReadStream } from 'node:fs'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Client } from 'ssh2'
import { logger } from '../core/log.ts'
import { isModuleError } from '../core/errors.ts'
import { imprintError } from './errors.ts'
import type { ExecOptions, ExecResult, Executor, PutOptions } from './executor.ts'
import { EXEC_TIMEOUT_MS, PUT_TIMEOUT_MS, bounded, sh, whenAborted } from './executor.ts'
import type { HostAddress } from './pool.ts'
import { fingerprintOf, formatHostUrl } from './pool.ts'

const log = logger('imprint')

export interface SshConnectOptions {
  /** The client's private key (PEM/OpenSSH text); held in memory only, never written anywhere. */
  readonly privateKey: string | Buffer
  /** The pinned fingerprint; null only for trust on first use, where acceptKey decides. */
  readonly fingerprint: string | null
  readonly acceptKey?: (fingerprint: string) => boolean
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
}

export class SshExecutor implements Executor {
  readonly kind = 'ssh' as const
  readonly name: string
  /** The fingerprint the host showed (equal to the pin once connected). */
  readonly fingerprint: string
  readonly #client: Client
  #lost: Error | null = null
  /** Rejects when the connection ends: a stream cut mid-write does not always error by itself. */
  readonly #gone: Promise<never>
  #markGone: (err: Error) => void = () => {}

  private constructor (client: Client, name: string, fingerprint: string) {
    this.#client = client
    this.name = name
    this.fingerprint = fingerprint
    this.#gone = new Promise<never>((_resolve, reject) => { this.#markGone = reject })
    this.#gone.catch(() => {})
    client.on('close', () => { this.#lost ??= imprintError('IMPRINT_CONNECT', `connection to ${name} closed`); this.#markGone(this.#lost) })
    client.on('error', (err) => { this.#lost ??= imprintError('IMPRINT_CONNECT', `connection to ${name} failed: ${err.message}`, { cause: err }); this.#markGone(this.#lost) })
  }

  static async connect (host: HostAddress, options: SshConnectOptions): Promise<SshExecutor> {
    const name = formatHostUrl(host)
    const timeoutMs = options.timeoutMs ?? 15_000
    let seen: string | null = null
    const client = new Client()
    try {
      await bounded(`ssh connect ${name}`, timeoutMs, options.signal, async (cancelled) => {
        cancelled.addEventListener('abort', () => client.destroy(), { once: true })
        await new Promise<void>((resolve, reject) => {
          client.once('ready', () => resolve())
          client.once('error', (err) => reject(err))
          client.once('close', () => reject(new Error('connection closed before it was ready')))
          client.connect({
            host: host.host,
            port: host.port,
            username: host.user,
            privateKey: options.privateKey,
            readyTimeout: timeoutMs,
            // No agent, no password, no keyboard-interactive: only the key given here.
            agent: undefined,
            tryKeyboard: false,
            // The raw key blob: its SHA256 is exactly OpenSSH's fingerprint, so the pin compares byte for byte.
            hostVerifier: (key: Buffer) => {
              seen = fingerprintOf(key)
              return options.fingerprint != null ? seen === options.fingerprint : options.acceptKey?.(seen) === true
            }
          })
        })
      })
    } catch (err) {
      client.destroy()
      if (seen != null && options.fingerprint != null && seen !== options.fingerprint) {
        throw imprintError('IMPRINT_HOST_KEY_MISMATCH', `${name} shows host key ${seen}, but ${options.fingerprint} is pinned; refusing to talk to it`, { details: { seen, expected: options.fingerprint } })
      }
      if (seen != null && options.fingerprint == null && options.acceptKey?.(seen) !== true) {
        throw imprintError('IMPRINT_HOST_KEY_UNKNOWN', `${name} shows host key ${seen}, which is not pinned`, { details: { seen } })
      }
      if (isModuleError(err, 'imprint')) throw err
      throw imprintError('IMPRINT_CONNECT', `cannot connect to ${name}: ${(err as Error).message}`, { cause: err })
    }
    log.debug('connected', { host: name, fingerprint: seen })
    return new SshExecutor(client, name, seen as unknown as string)
  }

  #check (): void { if (this.#lost != null) throw this.#lost }

  async exec (cmd: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.#check()
    return await bounded(`${this.name}: ${cmd.slice(0, 60)}`, options.timeoutMs ?? EXEC_TIMEOUT_MS, options.signal, async (cancelled) => {
      return await Promise.race([this.#gone, new Promise<ExecResult>((resolve, reject) => {
        this.#client.exec(cmd, (err, stream) => {
          if (err != null) { reject(imprintError('IMPRINT_CONNECT', `${this.name}: cannot run a command: ${err.message}`, { cause: err })); return }
          whenAborted(cancelled, () => stream.close())
          let stdout = ''
          let stderr = ''
          let code = 1
          stream.setEncoding('utf8').on('data', (d: string) => { stdout += d })
          stream.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
          stream.on('exit', (c: number | null, signal?: string) => { code = c ?? (signal != null ? 128 : 1) })
          stream.once('close', () => {
            if (this.#lost != null) reject(this.#lost)
            else resolve({ code, stdout, stderr })
          })
          stream.end(options.stdin)
        })
      })])
    })
  }

  /**
   * Streams into `cat` on an exec channel rather than SFTP: ssh2's SFTP write stream waits for each 32 KB
   * chunk's reply, which made the Node binary a 45 s copy; a channel is bounded only by its window (~1 s here).
   */
  async put (source: string | Readable, remotePath: string, mode: number, options: PutOptions = {}): Promise<number> {
    this.#check()
    const octal = mode.toString(8)
    // umask first: the file never exists with wider rights than asked, even for a moment.
    const write = `umask 077 && ${options.unpack === 'gzip' ? 'gzip -dc' : options.unpack === 'zstd' ? 'zstd -dcq' : 'cat'} > ${sh(remotePath)} && chmod ${octal} ${sh(remotePath)}`
    const sized = options.expectBytes == null ? null : `{ n=$(wc -c < ${sh(remotePath)}); [ "$n" -eq ${options.expectBytes} ] || { echo "the copy is $n bytes, expected ${options.expectBytes}" >&2; exit 1; }; }`
    const cmd = [options.before, write, sized, options.after].filter((x) => x != null && x !== '').join(' && ')
    return await bounded(`${this.name}: put ${remotePath}`, options.timeoutMs ?? PUT_TIMEOUT_MS, options.signal, async (cancelled) => {
      const input = typeof source === 'string' ? createReadStream(source, { highWaterMark: 1 << 20 }) : source
      let bytes = 0
      const failed = (why: string, cause?: unknown): Error => imprintError('IMPRINT_COPY_FAILED', `copying to ${this.name}:${remotePath} failed after ${bytes} bytes: ${why}`, { cause: this.#lost ?? cause })
      const done = new Promise<number>((resolve, reject) => {
        this.#client.exec(cmd, (err, stream) => {
          if (err != null) { reject(failed(err.message, err)); return }
          whenAborted(cancelled, () => { input.destroy(); stream.close() })
          let stderr = ''
          let code: number | null = null
          stream.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
          stream.on('data', () => {})
          stream.on('exit', (c: number | null) => { code = c })
          stream.once('close', () => {
            if (this.#lost != null) reject(this.#lost)
            else if (code !== 0) reject(failed(stderr.trim() !== '' ? stderr.trim().slice(-400) : `the copy exited ${String(code)}`))
            else resolve(bytes)
          })
          // Counted only now: a 'data' listener added before the channel exists would let the bytes flow away.
          input.on('data', (c: Buffer) => { bytes += c.length })
          pipeline(input, stream).catch((e: Error) => { stream.close(); reject(failed(e.message, e)) })
        })
      })
      return await Promise.race([done, this.#gone])
    })
  }

  async close (): Promise<void> {
    this.#lost ??= imprintError('IMPRINT_CONNECT', `connection to ${this.name} was closed by us`)
    this.#client.end()
  }
}
