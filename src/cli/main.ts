// `cell` command line: argv -> the cell's modules; errors are printed with their code and hint.
import { parseArgs } from 'node:util'
import { formatError } from '../core/errors.ts'
import { cliError } from './errors.ts'
import { cellPaths } from '../cell/paths.ts'

// Commands load what they need when they run: `cell status` must not wait for libp2p, ssh2 and the router to load
// (importing everything made every command take about a second before it did anything).
const start = async (): Promise<typeof import('./start.ts')> => await import('./start.ts')
const remote = async (): Promise<typeof import('./remote.ts')> => await import('./remote.ts')
const genome = async (): Promise<typeof import('./genome.ts')> => await import('./genome.ts')
const divide = async (): Promise<typeof import('./divide.ts')> => await import('./divide.ts')

const usage = `usage: cell <command> [options]

  start [--genome DIR] [--ref REF] [--port N] [--dns-port N] [--listen ADDR] [--advertise IP]
        [--name NAME] [--token-file FILE | --token T] [--join MULTIADDR] [--metrics-open] [--dns-primary HOST:PORT --dns-key FILE] [--demo]
        [--functions-unconfined] [--follow]
                                                         run a cell from a signed genome (foreground);
                                                         the router listens on ADDR (default 0.0.0.0,
                                                         127.0.0.1 for --demo); --token-file makes it a
                                                         member of the organism a token from \`cell admit\`
                                                         names (the file is deleted once it joined; --token
                                                         T works too, but shows the token to \`ps\`); as root,
                                                         each function runs as its own user unless
                                                         --functions-unconfined; --follow: a new signed
                                                         commit at REF (default HEAD) of the genome repo
                                                         rolls out by itself (as \`cell update\` does)
  admit [--ttl SECONDS]                                  a one-time token for a new cell to join
  hosts [add ssh://user@host[:port] (--host-key PIN | --accept-new-host-key)] [--identity KEY]
                                                         the host pool: list, or pin a host's key
  divide ssh://user@host[:port] [--function FN] [--identity KEY]
                                                         imprint a pool host and hand it a function
  move FN --to CELL [--force] [--key KEY]                hand a function and its data to another cell;
                                                         --force: the owner is dead, CELL takes it over
                                                         without its data; asked of another cell, it is
                                                         signed with KEY (default ~/.organism/signing_key),
                                                         a key in the genome's allowed_signers
  expel CELL [--successor CELL] [--key KEY]             remove a member for good (a stolen or broken host):
                                                         signed with KEY like a move; the founding cell's
                                                         expulsion names the member that takes its place
  update [--ref REF]                                     offer a signed commit of the genome repo (default HEAD)
                                                         to every cell: each verifies it and switches to it,
                                                         restarting its functions one at a time
  status [--json]                                        the cell's functions, state and traffic
  logs FN [-f] [-n LINES]                                a function's log
  stop                                                   stop the cell gracefully
  init DIR [--key PATH]                                  a new genome with one function, signed
  genome check DIR                                       validate and verify a genome

common: --state DIR   the cell's state directory (default $ORGANISM_STATE or ~/.organism/cell)`

const options = {
  state: { type: 'string' },
  genome: { type: 'string' },
  ref: { type: 'string' },
  port: { type: 'string' },
  'api-port': { type: 'string' },
  listen: { type: 'string' },
  'dns-port': { type: 'string' },
  advertise: { type: 'string' },
  name: { type: 'string' },
  join: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  'metrics-open': { type: 'boolean' },
  'functions-unconfined': { type: 'boolean' },
  ttl: { type: 'string' },
  to: { type: 'string' },
  successor: { type: 'string' },
  force: { type: 'boolean' },
  'dns-primary': { type: 'string' },
  'dns-key': { type: 'string' },
  identity: { type: 'string' },
  function: { type: 'string' },
  'host-key': { type: 'string' },
  'accept-new-host-key': { type: 'boolean' },
  'peer-port': { type: 'string' },
  demo: { type: 'boolean' },
  json: { type: 'boolean' },
  follow: { type: 'boolean', short: 'f' },
  lines: { type: 'string', short: 'n' },
  key: { type: 'string' },
  help: { type: 'boolean', short: 'h' }
} as const

export type CliValues = ReturnType<typeof parseArgs<{ options: typeof options, allowPositionals: true }>>['values']

async function main (argv: string[]): Promise<number> {
  let parsed
  try { parsed = parseArgs({ args: argv, options, allowPositionals: true }) } catch (err) {
    console.error(`${formatError(cliError('CLI_USAGE', (err as Error).message))}\n\n${usage}`)
    return 2
  }
  const { values, positionals } = parsed
  const [command, ...rest] = positionals
  if (values.help === true || command == null || command === 'help') { console.log(usage); return command == null && values.help !== true ? 2 : 0 }
  const paths = cellPaths(values.state)
  switch (command) {
    case 'start': return await (await start()).startCommand(values, paths)
    case 'status': return await (await remote()).statusCommand(values, paths)
    case 'logs': return await (await remote()).logsCommand(values, paths, rest[0])
    case 'stop': return await (await remote()).stopCommand(paths)
    case 'admit': return await (await remote()).admitCommand(values, paths)
    case 'move': return await (await remote()).moveCommand(values, paths, rest[0])
    case 'expel': return await (await remote()).expelCommand(values, paths, rest[0])
    case 'update': return await (await remote()).updateCommand(values, paths)
    case 'hosts': return await (await divide()).hostsCommand(values, paths, rest)
    case 'divide': return await (await divide()).divideCommand(values, paths, rest[0])
    case 'init': return await (await genome()).initCommand(values, rest[0])
    case 'genome': if (rest[0] === 'check') return await (await genome()).genomeCheckCommand(rest[1])
  }
  console.error(`${formatError(cliError('CLI_USAGE', `unknown command "${[command, ...rest].join(' ')}"`))}\n\n${usage}`)
  return 2
}

try {
  process.exitCode = await main(process.argv.slice(2))
} catch (err) {
  console.error(formatError(err))
  process.exitCode = 1
}
