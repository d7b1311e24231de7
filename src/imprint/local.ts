// LocalExecutor: the same steps as local processes in one directory (its "home"), for machines without sshd.
import { spawn } from 'node:child_process'
import { createReadStream, createWriteStream } from 'node:fs'
import { chmod, mkdir, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { logger } from '../core/log.ts'
import { imprintError } from './errors.ts'
import type { ExecOptions, ExecResult, Executor, PutOptions } from './executor.ts'
import { EXEC_TIMEOUT_MS, PUT_TIMEOUT_MS, bounded } from './executor.ts'
import { createGunzip, createZstdDecompress } from 'node:zlib'

const log = logger('imprint')

export class LocalExecutor implements Executor {
  readonly kind = 'local' as const
  readonly name: string
  readonly home: string

  constructor (home: string) {
    this.home = resolve(home)
    this.name = `local (no SSH) ${this.home}`
    log.info('using the local executor: steps run as local processes, without SSH', { home: this.home })
  }

  async exec (cmd: string, options: ExecOptions = {}): Promise<ExecResult> {
    await mkdir(this.home, { recursive: true })
    return await bounded(`local: ${cmd.slice(0, 60)}`, options.timeoutMs ?? EXEC_TIMEOUT_MS, options.signal, async (cancelled) => {
      // HOME is the directory, so that "~" and $HOME mean the same as on a real host.
      const child = spawn('sh', ['-c', cmd], { cwd: this.home, env: { ...process.env, HOME: this.home }, stdio: ['pipe', 'pipe', 'pipe'] })
      cancelled.addEventListener('abort', () => child.kill('SIGKILL'), { once: true })
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
      child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
      child.stdin.on('error', () => {})
      child.stdin.end(options.stdin)
      return await new Promise<ExecResult>((resolve, reject) => {
        child.once('error', reject)
        // 'close' waits for stdout and stderr too, unless a detached grandchild keeps them open.
        child.once('close', (code, signal) => resolve({ code: code ?? (signal != null ? 128 : 1), stdout, stderr }))
      })
    })
  }

  async put (source: string | Readable, remotePath: string, mode: number, options: PutOptions = {}): Promise<number> {
    const shell = async (cmd: string | undefined, what: string): Promise<void> => {
      if (cmd == null || cmd === '') return
      const r = await this.exec(cmd, { signal: options.signal })
      if (r.code !== 0) throw imprintError('IMPRINT_COPY_FAILED', `copying to ${remotePath}: ${what} exited ${r.code}: ${(r.stderr.trim() || r.stdout.trim()).slice(-400)}`)
    }
    await shell(options.before, 'the command before')
    const bytes = await bounded(`local put ${remotePath}`, options.timeoutMs ?? PUT_TIMEOUT_MS, options.signal, async (cancelled) => {
      const input = typeof source === 'string' ? createReadStream(source) : source
      let bytes = 0
      input.on('data', (c: Buffer) => { bytes += c.length })
      const stages = options.unpack == null ? [] : [options.unpack === 'gzip' ? createGunzip() : createZstdDecompress()]
      await pipeline([input, ...stages, createWriteStream(remotePath, { mode })], { signal: cancelled }).catch((cause: unknown) => {
        if (cancelled.aborted) throw cause
        throw imprintError('IMPRINT_COPY_FAILED', `copying to ${remotePath} failed after ${bytes} bytes: ${(cause as Error).message}`, { cause })
      })
      await chmod(remotePath, mode)
      const size = (await stat(remotePath)).size
      if (options.expectBytes != null && size !== options.expectBytes) throw imprintError('IMPRINT_COPY_FAILED', `copying to ${remotePath}: the copy is ${size} bytes, expected ${options.expectBytes}`)
      return bytes
    })
    await shell(options.after, 'the command after')
    return bytes
  }

  async close (): Promise<void> {}
}
