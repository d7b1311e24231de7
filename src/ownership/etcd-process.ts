// Runs etcd as a child process of the cell: one member of the organism's store, its data beside the cell's state.
// Debian's etcd-server is one static binary; ORGANISM_ETCD may name another.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { access, mkdir, open, readFile } from 'node:fs/promises'
import { constants } from 'node:fs'
import { join } from 'node:path'
import { logger } from '../core/log.ts'
import { liveStartTime } from '../core/proc-stat.ts'
import { writeFileAtomic } from '../core/atomic-file.ts'
import { ownershipError } from './errors.ts'

const log = logger('etcd')

export interface EtcdMember {
  /** The member's name in the etcd cluster (the cell's peer id). */
  name: string
  dataDir: string
  /** Where it listens for clients; advertised as advertiseClientUrl (default the same). */
  clientUrl: string
  advertiseClientUrl?: string
  peerUrl: string
  /** name=peerUrl,… of every member when the cluster is made; this member alone for a new one. */
  initialCluster?: string
  state?: 'new' | 'existing'
  /** Mutual TLS for clients and peers (files of the organism's CA and this member's certificate); https URLs. */
  tls?: { caFile: string, certFile: string, keyFile: string }
}

export interface EtcdProcess {
  readonly clientUrl: string
  readonly pid: number
  /** SIGTERM, then SIGKILL after graceMs; resolves when it has exited. */
  stop: (graceMs?: number) => Promise<void>
  readonly exited: Promise<number | null>
}

/** The etcd binary: ORGANISM_ETCD when set (and only it), else the usual places; a clear error if there is none. */
export async function findEtcd (env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const chosen = env.ORGANISM_ETCD
  const candidates = chosen != null && chosen !== '' ? [chosen] : ['/usr/bin/etcd', '/usr/local/bin/etcd']
  for (const p of candidates) {
    try { await access(p, constants.X_OK); return p } catch {}
  }
  throw ownershipError('OWNERSHIP_NO_ETCD', `no etcd binary found (looked at ${candidates.join(', ')})`)
}

const pidFile = (m: EtcdMember): string => join(m.dataDir, '..', 'etcd.pid')

/**
 * An etcd left running by a cell that was killed (kill -9 takes the cell, not its child) keeps serving the organism;
 * the restarted cell adopts it instead of starting a second one on the same data.
 */
async function adopt (m: EtcdMember): Promise<EtcdProcess | null> {
  let rec: { pid: number, startTime: string, dataDir: string }
  try { rec = JSON.parse(await readFile(pidFile(m), 'utf8')) as typeof rec } catch { return null }
  if (rec.dataDir !== m.dataDir || liveStartTime(rec.pid) !== rec.startTime) return null
  log.info('adopted the etcd a previous run of this cell left running', { pid: rec.pid })
  const gone = async (): Promise<void> => { while (liveStartTime(rec.pid) === rec.startTime) await new Promise((r) => setTimeout(r, 50)) }
  return {
    clientUrl: m.advertiseClientUrl ?? m.clientUrl,
    pid: rec.pid,
    exited: gone().then(() => null),
    stop: async (graceMs = 5000) => {
      try { process.kill(rec.pid, 'SIGTERM') } catch { return }
      const timer = setTimeout(() => { try { process.kill(rec.pid, 'SIGKILL') } catch {} }, graceMs)
      await gone()
      clearTimeout(timer)
    }
  }
}

export async function startEtcd (m: EtcdMember): Promise<EtcdProcess> {
  const adopted = await adopt(m)
  if (adopted != null) return adopted
  const bin = await findEtcd()
  await mkdir(m.dataDir, { recursive: true, mode: 0o700 })
  const logFile = await open(join(m.dataDir, '..', 'etcd.log'), 'a', 0o600)
  await logFile.chmod(0o600)
  const args = [
    '--name', m.name, '--data-dir', m.dataDir,
    '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.advertiseClientUrl ?? m.clientUrl,
    '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
    '--initial-cluster', m.initialCluster ?? `${m.name}=${m.peerUrl}`,
    '--initial-cluster-state', m.state ?? 'new',
    // Fast failure detection on a LAN; the lease TTLs of cells sit above the election timeout.
    '--heartbeat-interval', '100', '--election-timeout', '1000',
    '--log-outputs', 'stderr', '--logger', 'zap',
    // Only holders of a certificate from the organism's CA get in, as clients and as peers.
    ...m.tls == null
      ? []
      : ['--client-cert-auth', '--trusted-ca-file', m.tls.caFile, '--cert-file', m.tls.certFile, '--key-file', m.tls.keyFile,
          '--peer-client-cert-auth', '--peer-trusted-ca-file', m.tls.caFile, '--peer-cert-file', m.tls.certFile, '--peer-key-file', m.tls.keyFile]
  ]
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', logFile.fd, logFile.fd] })
  const exited = new Promise<number | null>((resolve) => { child.once('exit', (code) => { void logFile.close(); resolve(code) }) })
  log.info('etcd started', { pid: child.pid, client: m.clientUrl, peer: m.peerUrl })
  const startTime = child.pid == null ? null : liveStartTime(child.pid)
  if (child.pid != null && startTime != null) await writeFileAtomic(pidFile(m), JSON.stringify({ pid: child.pid, startTime, dataDir: m.dataDir }), 0o600)
  return {
    clientUrl: m.advertiseClientUrl ?? m.clientUrl,
    pid: child.pid ?? -1,
    exited,
    stop: async (graceMs = 5000) => {
      if (child.exitCode != null || child.signalCode != null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => { child.kill('SIGKILL') }, graceMs)
      await exited
      clearTimeout(timer)
    }
  }
}
