// `cell` command line: argv -> the cell's modules; errors are printed with their code and hint.
import { parseArgs } from 'node:util'
import { formatError } from '../core/errors.ts'
import { cliError } from './errors.ts'
import { cellPaths } from '../cell/paths.ts'
import { startCommand } from './start.ts'
import { statusCommand, logsCommand, stopCommand, admitCommand, moveCommand } from './remote.ts'
import { initCommand, genomeCheckCommand } from './genome.ts'
import { hostsCommand, divideCommand } from './divide.ts'

const usage = `usage: cell <command> [options]

  start [--genome DIR] [--ref REF] [--port N] [--dns-port N] [--listen ADDR] [--advertise IP]
        [--name NAME] [--token T [--join MULTIADDR]] [--dns-primary HOST:PORT --dns-key FILE] [--demo]
                                                         run a cell from a signed genome (foreground);
                                                         the router listens on ADDR (default 0.0.0.0,
                                                         127.0.0.1 for --demo); --token makes it a member
                                                         of the organism a token from \`cell admit\` names
  admit [--ttl SECONDS]                                  a one-time token for a new cell to join
  hosts [add ssh://user@host[:port] (--host-key PIN | --accept-new-host-key)] [--identity KEY]
                                                         the host pool: list, or pin a host's key
  divide ssh://user@host[:port] [--function FN] [--identity KEY]
                                                         imprint a pool host and hand it a function
  move FN --to CELL [--force]                            hand a function and its data to another cell;
                                                         --force: the owner is dead, CELL takes it over
                                                         without its data
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
  ttl: { type: 'string' },
  to: { type: 'string' },
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
    case 'start': return await startCommand(values, paths)
    case 'status': return await statusCommand(values, paths)
    case 'logs': return await logsCommand(values, paths, rest[0])
    case 'stop': return await stopCommand(paths)
    case 'admit': return await admitCommand(values, paths)
    case 'move': return await moveCommand(values, paths, rest[0])
    case 'hosts': return await hostsCommand(values, paths, rest)
    case 'divide': return await divideCommand(values, paths, rest[0])
    case 'init': return await initCommand(values, rest[0])
    case 'genome': if (rest[0] === 'check') return await genomeCheckCommand(rest[1])
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
