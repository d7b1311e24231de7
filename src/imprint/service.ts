// How the new cell runs on the host, pure: its start script, a systemd user unit, or a detached process + @reboot line.
import { sh } from './executor.ts'
import { MARKER_VAR, makeDirs, record } from './journal.ts'

export interface Layout {
  readonly home: string
  readonly root: string // $HOME/.organism
  readonly runtimeDir: string
  readonly node: string
  /** etcd carried by imprint when the host has none (the ownership store of a multi-cell organism). */
  readonly etcd: string
  readonly bundle: string
  readonly genome: string
  readonly state: string
  readonly startScript: string
  readonly tokenFile: string
  readonly pidFile: string
  readonly outFile: string
}

export function layoutFor (home: string): Layout {
  const root = `${home}/.organism`
  return {
    home,
    root,
    runtimeDir: `${root}/runtime`,
    node: `${root}/runtime/node`,
    etcd: `${root}/runtime/etcd`,
    bundle: `${root}/runtime/cell.mjs`,
    genome: `${root}/genome`,
    state: `${root}/cell`,
    startScript: `${root}/start.sh`,
    tokenFile: `${root}/join-token`,
    pidFile: `${root}/cell.pid`,
    outFile: `${root}/cell.out`
  }
}

export interface CellArgs {
  readonly commit: string
  readonly name: string
  readonly advertise: string
  readonly listen: string
  readonly routerPort: number
  readonly dnsPort: number
  /** The genome's peer port, checked free in preflight (the cell takes it from the genome itself); 0 or absent: any. */
  readonly peerPort?: number
  readonly join?: string
}

export const UNIT = 'organism-cell.service'

/**
 * The start script. The token file is read only until the cell has joined (organism.json exists): a
 * restarted member must not present a spent token. Every process it starts carries the imprint marker,
 * which is how rollback finds them all, functions included.
 */
export function startScript (l: Layout, a: CellArgs, imprintId: string): string {
  const args = [
    'start', '--genome', l.genome, '--ref', a.commit, '--state', l.state, '--name', a.name,
    '--advertise', a.advertise, '--listen', a.listen, '--port', String(a.routerPort), '--dns-port', String(a.dnsPort),
    ...(a.join != null ? ['--join', a.join] : [])
  ]
  return [
    '#!/bin/sh',
    '# Starts this host\'s Organism cell; written by imprint, run by systemd, by nohup or by cron @reboot.',
    `export ${MARKER_VAR}=${imprintId}`,
    // The etcd imprint carried, when the host has none of its own.
    `if [ -x ${sh(l.etcd)} ]; then export ORGANISM_ETCD=${sh(l.etcd)}; fi`,
    `echo $$ > ${sh(l.pidFile)}`,
    'set --',
    // The file's name on the command line, never the token: `ps` and /proc/PID/cmdline show arguments to every user.
    `if [ -f ${sh(l.tokenFile)} ] && [ ! -f ${sh(`${l.state}/organism.json`)} ]; then set -- --token-file ${sh(l.tokenFile)}; fi`,
    `exec ${sh(l.node)} ${sh(l.bundle)} ${args.map(sh).join(' ')} "$@"`,
    ''
  ].join('\n')
}

export function unitFile (l: Layout): string {
  return [
    '[Unit]',
    'Description=Organism cell (imprinted)',
    'After=network-online.target',
    '',
    '[Service]',
    `ExecStart=/bin/sh ${l.startScript}`,
    'Restart=on-failure',
    'RestartSec=2',
    '',
    '[Install]',
    'WantedBy=default.target',
    ''
  ].join('\n')
}

export type ServiceMode = 'systemd' | 'detached'

/** Shell that starts the cell as a service, journaling every piece first. */
export function startService (l: Layout, mode: ServiceMode, imprintId: string, withCron: boolean): string {
  const proc = record({ kind: 'proc', id: imprintId })
  if (mode === 'systemd') {
    const dir = `${l.home}/.config/systemd/user`
    return [
      makeDirs(dir),
      record({ kind: 'path', path: `${dir}/${UNIT}` }),
      `cat > ${sh(`${dir}/${UNIT}`)} <<'UNIT_EOF'\n${unitFile(l)}UNIT_EOF`,
      proc,
      record({ kind: 'unit', name: UNIT }),
      'systemctl --user daemon-reload',
      `systemctl --user enable --now ${UNIT}`,
      // Lingering keeps the user's manager, and so the cell, running after logout and starting at boot.
      `{ loginctl show-user "$(id -un)" -p Linger 2>/dev/null | grep -q yes || { ${record({ kind: 'linger' })} && loginctl enable-linger "$(id -un)"; }; }`
    ].join(' && \\\n')
  }
  const parts = [
    proc,
    record({ kind: 'path', path: l.pidFile }),
    record({ kind: 'path', path: l.outFile }),
    // setsid: its own session, so logout (SIGHUP to the login session) does not reach it. The redirections are on
    // the subshell, so no shell in between (bash keeps one for the && list) holds the SSH channel open.
    `(cd "$HOME" && setsid nohup /bin/sh ${sh(l.startScript)} &) > ${sh(l.outFile)} 2>&1 < /dev/null`
  ]
  if (withCron) {
    const line = `@reboot /bin/sh ${l.startScript} >> ${l.outFile} 2>&1 # organism-cell ${imprintId}`
    parts.push(
      `{ if crontab -l > /dev/null 2>&1; then had=yes; else had=no; fi; printf 'cron %s %s\\n' ${sh(imprintId)} "$had" >> "$HOME"/.organism-claim/journal; }`,
      `{ crontab -l 2>/dev/null; printf '%s\\n' ${sh(line)}; } | crontab -`
    )
  }
  return parts.join(' && \\\n')
}
