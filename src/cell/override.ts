// The cell's check of an operator's override asked by another member (a move, a forced takeover): signed by a key
// in the allowed_signers of the genome this cell runs, for exactly this request, recently, once.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { verifyOverride, SIGNERS_FILE } from '../genome/index.ts'
import type { Genome } from '../genome/types.ts'
import type { AuthorizeOverride } from '../migrate/index.ts'

export function operatorCheck (genome: Genome, note: (text: string) => void): AuthorizeOverride {
  const seen = new Map<string, number>()
  return async (req, from) => {
    const signers = await readFile(join(genome.root, SIGNERS_FILE), 'utf8')
    const who = await verifyOverride(signers, req.signed, { organism: genome.organism, kind: 'move', fn: req.fn, to: req.to, force: req.force }, seen)
    note(`${req.force ? 'takeover' : 'move'} of ${req.fn} asked through ${from.slice(-8)}, signed by ${who}`)
  }
}
