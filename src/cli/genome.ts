// Commands on a genome repository: init and check.
import { resolve } from 'node:path'
import { initGenome, checkGenome } from '../genome/index.ts'
import { cliError } from './errors.ts'
import type { CliValues } from './main.ts'

export async function initCommand (values: CliValues, dir: string | undefined): Promise<number> {
  if (dir == null) throw cliError('CLI_USAGE', 'cell init needs a directory: `cell init DIR`')
  const r = await initGenome(resolve(dir), { keyPath: values.key })
  console.log(`genome created in ${resolve(dir)}, first commit ${r.commit.slice(0, 12)} signed with ${r.keyPath}${r.created ? ' (new key)' : ''}`)
  console.log(`run it: npx cell start --genome ${dir}`)
  return 0
}

export async function genomeCheckCommand (dir: string | undefined): Promise<number> {
  if (dir == null) throw cliError('CLI_USAGE', 'cell genome check needs a directory: `cell genome check DIR`')
  const r = await checkGenome(resolve(dir))
  console.log(`ok: organism ${r.genome.organism}, ${r.genome.functions.length} function(s), commit ${r.commit.slice(0, 12)} signed by ${r.principal} (${r.signerKey})`)
  return 0
}
