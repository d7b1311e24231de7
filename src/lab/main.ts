// `npm run lab -- up N | down | status | cut HOST | heal HOST`: a lab that outlives the command, found again by its state file.
import { parseArgs } from 'node:util'
import { formatError } from '../core/errors.ts'
import { labError } from './errors.ts'
import { collectStale, createLab, LiveLab } from './lab.ts'
import type { LabMode } from './plan.ts'
import { probeSsh } from './hosts.ts'
import { linkIsUp } from './netns.ts'
import { listRecords, stateRoot } from './state.ts'
import type { LabRecord } from './state.ts'

const usage = `usage: npm run lab -- <command> [options]

  up N [--mode netns|loopback]   make N hosts (netns as root, loopback otherwise) and leave them up
  status [--json]                the lab's hosts, addresses, ssh ports, fingerprints, and whether they answer
  cut HOST | heal HOST           take a host's link down / up (netns mode)
  down                           remove the lab made by "up", and any lab whose maker died

common: --state DIR   where lab records live (default $ORGANISM_LAB_STATE, /run/organism-lab as root)`

const options = {
  mode: { type: 'string' },
  json: { type: 'boolean' },
  state: { type: 'string' },
  help: { type: 'boolean', short: 'h' }
} as const

function current (root: string): LabRecord {
  const record = listRecords(root).find((r) => r.persistent)
  if (record == null) throw labError('LAB_NOT_UP', `no lab made by "lab up" in ${root}`)
  return record
}

async function status (root: string, json: boolean): Promise<number> {
  const record = current(root)
  const lab = new LiveLab(record, root)
  const hosts = await Promise.all(record.plan.hosts.map(async (h) => ({
    ...lab.host(h.name),
    link: record.plan.mode === 'netns' ? ((await linkIsUp(record.plan, h)) ? 'up' : 'cut') : 'loopback',
    answers: await probeSsh(h.address, h.sshPort, 1000)
  })))
  if (json) {
    console.log(JSON.stringify({ id: lab.id, prefix: lab.prefix, mode: lab.mode, dir: lab.dir, clientKey: lab.clientKey, knownHosts: lab.knownHosts, stateFile: lab.stateFile, hosts }, null, 2))
    return 0
  }
  console.log(`lab ${lab.prefix} (${lab.mode}, ${record.plan.subnet}) in ${lab.dir}`)
  console.log(`client key ${lab.clientKey}, known_hosts ${lab.knownHosts}`)
  for (const h of hosts) {
    console.log(`  ${h.name}  ${h.user}@${h.address}:${h.sshPort}  ${h.fingerprint}  link ${h.link}  ${h.answers ? 'answers' : 'NOT ANSWERING'}`)
  }
  return 0
}

async function main (argv: string[]): Promise<number> {
  let parsed
  try { parsed = parseArgs({ args: argv, options, allowPositionals: true }) } catch (err) {
    console.error(`${formatError(labError('LAB_BAD_OPTION', (err as Error).message))}\n\n${usage}`)
    return 2
  }
  const { values, positionals } = parsed
  const [command, arg] = positionals
  if (values.help === true || command == null) { console.log(usage); return command == null && values.help !== true ? 2 : 0 }
  const root = values.state ?? stateRoot()
  switch (command) {
    case 'up': {
      collectStale(root)
      const existing = listRecords(root).find((r) => r.persistent)
      if (existing != null) throw labError('LAB_ALREADY_UP', `${existing.plan.prefix} is up (${existing.plan.hosts.length} hosts)`)
      const started = Date.now()
      const lab = await createLab({ hosts: Number(arg ?? 'NaN'), mode: values.mode as LabMode | undefined, persistent: true, stateDir: root })
      console.log(`up ${lab.prefix}: ${lab.hosts.length} hosts in ${Date.now() - started} ms; state ${lab.stateFile}`)
      return await status(root, values.json === true)
    }
    case 'status': return await status(root, values.json === true)
    case 'cut':
    case 'heal': {
      const lab = new LiveLab(current(root), root)
      await (command === 'cut' ? lab.cut(arg ?? '') : lab.heal(arg ?? ''))
      console.log(`${command} ${lab.prefix} ${arg ?? ''}`)
      return 0
    }
    case 'down': {
      const started = Date.now()
      const removed = collectStale(root, true)
      console.log(removed.length === 0 ? 'no lab was up' : `removed ${removed.map((id) => `orgl${id}`).join(', ')} in ${Date.now() - started} ms`)
      return 0
    }
  }
  console.error(`${formatError(labError('LAB_BAD_OPTION', `unknown command "${positionals.join(' ')}"`))}\n\n${usage}`)
  return 2
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err: unknown) => {
  console.error(formatError(err))
  process.exitCode = 1
})
