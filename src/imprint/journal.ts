// The imprint journal on the host, pure: what each step records before acting, and the script that undoes it all.
import { JOURNAL } from './preflight.ts'
import { sh } from './executor.ts'

/**
 * One line per thing we made, written *before* making it, so that a crash at any point leaves a journal that
 * covers everything on the host that is ours:
 *   path ABS        a file or directory we created (removed with rm -rf)
 *   proc ID         processes whose environment carries ORGANISM_IMPRINT=ID (killed)
 *   unit NAME       a systemd user unit we installed and enabled
 *   linger          lingering we enabled for the user
 *   cron ID HAD     a crontab line tagged ID; HAD=yes when the user had a crontab before
 */
export type JournalEntry =
  | { kind: 'path', path: string }
  | { kind: 'proc', id: string }
  | { kind: 'unit', name: string }
  | { kind: 'linger' }
  | { kind: 'cron', id: string, had: boolean }

export const MARKER_VAR = 'ORGANISM_IMPRINT'

export function formatEntry (e: JournalEntry): string {
  switch (e.kind) {
    case 'path': return `path ${e.path}`
    case 'proc': return `proc ${e.id}`
    case 'unit': return `unit ${e.name}`
    case 'linger': return 'linger'
    case 'cron': return `cron ${e.id} ${e.had ? 'yes' : 'no'}`
  }
}

export function parseJournal (text: string): JournalEntry[] {
  const out: JournalEntry[] = []
  for (const line of text.split('\n')) {
    const [kind, ...rest] = line.trim().split(' ')
    const arg = rest.join(' ')
    if (kind === 'path' && arg.startsWith('/')) out.push({ kind, path: arg })
    else if (kind === 'proc' && /^[\w-]+$/.test(arg)) out.push({ kind, id: arg })
    else if (kind === 'unit' && /^[\w.@-]+$/.test(arg)) out.push({ kind, name: arg })
    else if (kind === 'linger') out.push({ kind })
    else if (kind === 'cron' && /^[\w-]+$/.test(rest[0] ?? '')) out.push({ kind, id: rest[0], had: rest[1] === 'yes' })
    // A torn last line (crash mid-append) is ignored: its action had not started yet.
  }
  return out
}

/** Shell that appends an entry to the journal; prefix every action with it (joined by &&). */
export function record (e: JournalEntry): string {
  return `printf '%s\\n' ${sh(formatEntry(e))} >> "$HOME"/${JOURNAL}`
}

/**
 * Shell that makes dir (and missing parents), journaling each directory it creates. Safe when two commands make
 * the same directory at once (the copies run in parallel): the loser's mkdir fails, finds it there, and goes on.
 */
export function makeDirs (abs: string): string {
  const parts = abs.split('/').filter((p) => p !== '')
  const dirs = parts.map((_p, i) => '/' + parts.slice(0, i + 1).join('/'))
  return dirs.map((d) => `{ [ -d ${sh(d)} ] || { ${record({ kind: 'path', path: d })} && { mkdir -m 700 ${sh(d)} 2>/dev/null || [ -d ${sh(d)} ]; }; }; }`).join(' && ')
}

/** Kills every process carrying the marker: TERM, up to 5 s of grace, then KILL. Reads /proc (Linux). */
function killMarked (id: string): string {
  const fn = `om_kill() { f=; for d in /proc/[0-9]*; do if tr '\\0' '\\n' < "$d/environ" 2>/dev/null | grep -qx ${sh(`${MARKER_VAR}=${id}`)}; then kill -"$1" "\${d#/proc/}" 2>/dev/null && f=1; fi; done; [ -n "$f" ]; }`
  return `${fn}; if om_kill TERM; then i=0; while [ $i -lt 50 ] && om_kill 0; do sleep 0.1; i=$((i+1)); done; om_kill KILL; sleep 0.2; fi; true`
}

function undo (e: JournalEntry): string {
  switch (e.kind) {
    case 'path': return `rm -rf ${sh(e.path)}`
    case 'proc': return killMarked(e.id)
    case 'unit': return `systemctl --user disable --now ${sh(e.name)} >/dev/null 2>&1; systemctl --user reset-failed ${sh(e.name)} >/dev/null 2>&1; true`
    case 'linger': return 'loginctl disable-linger "$(id -un)" >/dev/null 2>&1; true'
    case 'cron': {
      const keep = `crontab -l 2>/dev/null | grep -v ${sh(`# organism-cell ${e.id}`)} > "$HOME/.organism-cron.$$"`
      const put = e.had ? `crontab "$HOME/.organism-cron.$$"` : `if [ -s "$HOME/.organism-cron.$$" ]; then crontab "$HOME/.organism-cron.$$"; else crontab -r 2>/dev/null; fi`
      return `if command -v crontab >/dev/null; then ${keep}; ${put}; rm -f "$HOME/.organism-cron.$$"; fi; true`
    }
  }
}

/**
 * The rollback plan: undo in reverse order, but stop processes and services before removing any file
 * (a running cell would otherwise write into a directory being deleted). Pure; the caller runs it on the host.
 */
export function rollbackPlan (entries: readonly JournalEntry[]): string[] {
  const reversed = [...entries].reverse()
  const first = reversed.filter((e) => e.kind !== 'path')
  const then = reversed.filter((e) => e.kind === 'path')
  return [...first, ...then].map(undo)
}
