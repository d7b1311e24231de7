// Functions as their own users, where the cell runs as root: each function's processes run under a uid of their own
// (no passwd entry needed), in a mount namespace of their own where a small tmpfs holds the only ways in: the genome
// (read-only), the function's own code and data dirs, and the directory of the cell's Node. The cell's state dir
// stays 0700 root, so its keys, API token, other functions' data and replicas are out of reach by the kernel's
// ordinary permission checks; nothing of the host is hidden beyond that (it is a user boundary, not a container).
import { createHash } from 'node:crypto'
import { chmod, lchown, lstat, mkdir, readdir, readFile } from 'node:fs/promises'
import { dirname, join, relative, isAbsolute, sep } from 'node:path'

/** Where a confined function finds its things (a tmpfs in its own mount namespace). */
export const JAIL = '/run/organism-function'
const UID_BASE = 61_000
const UID_SPAN = 4_000

export interface Confinement {
  /** Each function's uid (and gid). */
  readonly uids: ReadonlyMap<string, number>
  /** The exported genome the functions' code dirs are in (bound read-only, so that shared code next to it loads). */
  readonly genomeRoot: string | null
  /** The directory of the Node the cell puts first on PATH. */
  readonly nodeDir: string
}

/** Stable uids for functions by name, clear of the ids the host's passwd and group files use (pure). */
export function functionUids (names: readonly string[], taken: ReadonlySet<number>): Map<string, number> {
  const out = new Map<string, number>()
  const used = new Set(taken)
  for (const name of [...names].sort()) {
    let n = createHash('sha256').update(name).digest().readUInt32BE(0) % UID_SPAN
    while (used.has(UID_BASE + n)) n = (n + 1) % UID_SPAN
    used.add(UID_BASE + n)
    out.set(name, UID_BASE + n)
  }
  return out
}

/** Uids and gids named in /etc/passwd and /etc/group: never handed to a function. */
export async function hostIds (): Promise<Set<number>> {
  const ids = new Set<number>()
  for (const file of ['/etc/passwd', '/etc/group']) {
    const text = await readFile(file, 'utf8').catch(() => '')
    for (const line of text.split('\n')) { const id = Number(line.split(':')[2]); if (Number.isInteger(id)) ids.add(id) }
  }
  return ids
}

/** Where the code dir shows inside the jail: under the genome's bind when it is in the genome, else on its own. */
export function jailCodeDir (codeDir: string, genomeRoot: string | null): string {
  const rel = genomeRoot == null ? null : relative(genomeRoot, codeDir)
  return rel == null || rel.startsWith('..') || isAbsolute(rel) ? join(JAIL, 'code') : join(JAIL, 'genome', ...(rel === '' ? [] : rel.split(sep)))
}

// The mounts, then the drop to the function's uid; paths come in the environment, never spliced into the script.
const SCRIPT = [
  'set -e',
  'mount -t tmpfs -o mode=0755,size=64k organism-function "$ORGANISM_JAIL"',
  'mkdir -p "$ORGANISM_JAIL/genome" "$ORGANISM_JAIL/code" "$ORGANISM_JAIL/data" "$ORGANISM_JAIL/bin"',
  'if [ -n "$ORGANISM_JAIL_GENOME" ]; then mount --bind "$ORGANISM_JAIL_GENOME" "$ORGANISM_JAIL/genome"; mount -o remount,bind,ro "$ORGANISM_JAIL/genome"; fi',
  'mount --bind "$ORGANISM_JAIL_CODE" "$ORGANISM_JAIL_CODE_AT"',
  'mount --bind "$ORGANISM_JAIL_DATA" "$ORGANISM_JAIL/data"',
  'mount --bind "$ORGANISM_JAIL_BIN" "$ORGANISM_JAIL/bin"; mount -o remount,bind,ro "$ORGANISM_JAIL/bin"',
  'cd "$ORGANISM_JAIL_CODE_AT"',
  'uid="$ORGANISM_JAIL_UID"; cmd="$ORGANISM_JAIL_COMMAND"',
  'unset ORGANISM_JAIL ORGANISM_JAIL_GENOME ORGANISM_JAIL_CODE ORGANISM_JAIL_CODE_AT ORGANISM_JAIL_DATA ORGANISM_JAIL_BIN ORGANISM_JAIL_UID ORGANISM_JAIL_COMMAND',
  'exec setpriv --reuid="$uid" --regid="$uid" --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all -- sh -c "$cmd"'
].join('\n')

export interface Jailed { file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv }

/**
 * The argv that runs `command` confined, and the environment the function sees: its data dir, home and the cell's
 * Node at their paths inside the jail (pure).
 */
export function jailed (command: string, fn: { codeDir: string, dataDir: string, uid: number }, c: Confinement, env: NodeJS.ProcessEnv): Jailed {
  const codeAt = jailCodeDir(fn.codeDir, c.genomeRoot)
  const inside = (v: string | undefined): string | undefined => v == null ? v : v === fn.dataDir ? join(JAIL, 'data') : v
  const path = (env.PATH ?? '').split(':').map((p) => p === c.nodeDir ? join(JAIL, 'bin') : p).join(':')
  return {
    file: 'unshare',
    args: ['--mount', '--propagation', 'private', '--', 'sh', '-c', SCRIPT],
    cwd: '/',
    env: {
      ...env,
      PATH: path,
      DATA_DIR: inside(env.DATA_DIR),
      // Where the cell keeps that data: for tools on the host that look for a cell's function processes.
      ORGANISM_HOST_DATA_DIR: fn.dataDir,
      HOME: join(JAIL, 'data'),
      USER: `fn-${fn.uid}`,
      LOGNAME: `fn-${fn.uid}`,
      ORGANISM_JAIL: JAIL,
      ORGANISM_JAIL_GENOME: codeAt.startsWith(join(JAIL, 'genome')) ? (c.genomeRoot ?? '') : '',
      ORGANISM_JAIL_CODE: fn.codeDir,
      ORGANISM_JAIL_CODE_AT: codeAt,
      ORGANISM_JAIL_DATA: fn.dataDir,
      ORGANISM_JAIL_BIN: c.nodeDir,
      ORGANISM_JAIL_UID: String(fn.uid),
      ORGANISM_JAIL_COMMAND: command
    }
  }
}

/**
 * Before each start: the data dir (and what a move or a replica wrote into it as root) belongs to the function's
 * uid, 0700; its code dir too (setup may write there); the genome is readable by all (it is signed code, and only
 * the jail shows it). Only entries that differ are changed, so a restart of a large data dir costs a walk.
 */
export async function prepareJail (fn: { codeDir: string, dataDir: string, uid: number }, c: Confinement): Promise<void> {
  await mkdir(JAIL, { recursive: true, mode: 0o755 })
  await ownTree(fn.dataDir, fn.uid)
  await chmod(fn.dataDir, 0o700)
  await ownTree(fn.codeDir, fn.uid)
  if (c.genomeRoot != null) await readableTree(c.genomeRoot, fn.codeDir)
}

async function ownTree (dir: string, uid: number): Promise<void> {
  const st = await lstat(dir)
  if (st.uid !== uid || st.gid !== uid) await lchown(dir, uid, uid)
  if (!st.isDirectory()) return
  for (const name of await readdir(dir)) await ownTree(join(dir, name), uid)
}

/** Directories 0755 and files o+r in the genome (not inside `skip`, which the function owns). */
async function readableTree (dir: string, skip: string): Promise<void> {
  if (dir === skip) return
  const st = await lstat(dir)
  if (st.isSymbolicLink()) return
  if (st.isDirectory()) {
    if ((st.mode & 0o755) !== 0o755) await chmod(dir, (st.mode & 0o7777) | 0o755)
    for (const name of await readdir(dir)) await readableTree(join(dir, name), skip)
  } else if ((st.mode & 0o044) !== 0o044) {
    await chmod(dir, (st.mode & 0o7777) | 0o044)
  }
}

/** The Node a confined function runs (the cell's own, first on PATH). */
export const nodeDirOf = (execPath: string): string => dirname(execPath)
