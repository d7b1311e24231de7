// Runs git and ssh-keygen with execFile (argument lists, never a shell), with a clean environment and a time limit.
import { execFile } from 'node:child_process'
import { genomeError } from './errors.ts'

export interface RunOptions {
  readonly cwd?: string
  /** Extra environment on top of the cleaned one. */
  readonly env?: Readonly<Record<string, string>>
  readonly input?: string | Buffer
  readonly timeoutMs?: number
  /**
   * Ignore the machine's global and system git config: verification must depend only on the genome,
   * never on a user's gpg.ssh.program, allowedSignersFile or aliases.
   */
  readonly isolated?: boolean
}

export interface RunResult {
  readonly code: number
  readonly stdout: Buffer
  readonly stderr: string
}

/** Variables that would make git act on another repository or index than the one we name. */
const STRIPPED = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_NAMESPACE', 'GIT_COMMON_DIR', 'GIT_PREFIX',
  'GIT_CONFIG', 'GIT_CONFIG_PARAMETERS', 'GIT_CONFIG_COUNT', 'GIT_REPLACE_REF_BASE', 'GIT_GRAFT_FILE', 'GIT_SHALLOW_FILE', 'GIT_EXEC_PATH', 'GIT_SSH', 'GIT_SSH_COMMAND', 'GIT_EXTERNAL_DIFF', 'GIT_PAGER', 'GIT_ASKPASS']

function environment (opts: RunOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' }
  for (const k of STRIPPED) delete env[k]
  // Replace refs and grafts would let objects stand in for the ones a signature names.
  if (opts.isolated === true) { env.GIT_CONFIG_GLOBAL = '/dev/null'; env.GIT_CONFIG_NOSYSTEM = '1'; env.GIT_NO_REPLACE_OBJECTS = '1' }
  return { ...env, ...opts.env }
}

/** Runs a command; a non-zero exit is a result, not an exception (callers decide what it means). */
export function run (cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, {
      cwd: opts.cwd, env: environment(opts), encoding: 'buffer', maxBuffer: 512 * 1024 * 1024, timeout: opts.timeoutMs ?? 60_000
    }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown, killed?: boolean }) | null
      if (e != null && e.code === 'ENOENT') {
        reject(genomeError('GENOME_TOOL_MISSING', `${cmd} is not installed (or not on PATH)`, { cause: err }))
        return
      }
      if (e != null && typeof e.code !== 'number') {
        reject(genomeError('GENOME_GIT_FAILED', `${cmd} ${args.join(' ')} failed: ${e.killed === true ? 'timed out' : e.message}`, { cause: err }))
        return
      }
      resolve({ code: e == null ? 0 : Number(e.code), stdout, stderr: stderr.toString('utf8') })
    })
    // A command that exits before reading all input must surface as its exit code, not as an EPIPE crash.
    child.stdin?.on('error', () => {})
    if (opts.input != null) child.stdin?.end(opts.input)
    else child.stdin?.end()
  })
}

/** Runs a command that must succeed and returns its trimmed stdout. */
export async function must (cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts)
  if (r.code !== 0) {
    throw genomeError('GENOME_GIT_FAILED', `${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.toString('utf8').trim()}`, {
      details: { cmd, args, exitCode: r.code, cwd: opts.cwd }
    })
  }
  return r.stdout.toString('utf8').trim()
}

/** git in repoDir with the isolated environment used for everything that decides trust. */
export function git (repoDir: string, args: readonly string[], opts: Omit<RunOptions, 'cwd' | 'isolated'> = {}): Promise<RunResult> {
  return run('git', args, { ...opts, cwd: repoDir, isolated: true })
}

export function gitMust (repoDir: string, args: readonly string[], opts: Omit<RunOptions, 'cwd' | 'isolated'> = {}): Promise<string> {
  return must('git', args, { ...opts, cwd: repoDir, isolated: true })
}
