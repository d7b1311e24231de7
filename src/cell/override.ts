// The cell's check of an operator's override asked by another member (a move, a forced takeover): signed by a key
// in the allowed_signers of the genome this cell runs, for exactly this request, recently, once.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { verifyOverride, SIGNERS_FILE } from '../genome/index.ts'
import type { Genome } from '../genome/types.ts'
import type { AuthorizeOverride } from '../migrate/index.ts'
import type { RecordSigner, RecordVerify, ViewProofs } from '../ownership/index.ts'
import type { VerifyExpulsion } from '../organism/index.ts'

export function operatorCheck (genome: Genome, note: (text: string) => void): AuthorizeOverride {
  const seen = new Map<string, number>()
  return async (req, from) => {
    const signers = await readFile(join(genome.root, SIGNERS_FILE), 'utf8')
    const who = await verifyOverride(signers, req.signed, { organism: genome.organism, kind: 'move', fn: req.fn, to: req.to, force: req.force }, seen)
    note(`${req.force ? 'takeover' : 'move'} of ${req.fn} asked through ${from.slice(-8)}, signed by ${who}`)
  }
}

/** An operator's expulsion of a member: signed for this organism and exactly that cell (and successor), kept for good. */
export function expulsionCheck (genome: Genome): VerifyExpulsion {
  return async (expulsion, facts) => {
    const signers = await readFile(join(genome.root, SIGNERS_FILE), 'utf8')
    await verifyOverride(signers, expulsion, { organism: genome.organism, kind: 'expel', peer: facts.peer, successor: facts.successor }, null)
  }
}

/** Signed ownership records (ownership/proof.ts): signed with this cell's key, checked by the peer keys of members. */
export function recordProofs (genome: Genome, signer: RecordSigner, verify: RecordVerify, note: (text: string) => void): ViewProofs {
  return {
    signer,
    verify,
    stateless: new Set(genome.functions.filter((f) => !f.stateful).map((f) => f.name)),
    // A forced takeover's override, checked as acted on (no time window or nonce: the record keeps it for good).
    checkOverride: async (r) => {
      if (r.override == null) return false
      const signers = await readFile(join(genome.root, SIGNERS_FILE), 'utf8')
      return await verifyOverride(signers, r.override, { organism: genome.organism, kind: 'move', fn: r.fn, to: r.owner, force: true }, null).then(() => true, () => false)
    },
    onRejected: (r, why, restored) => { note(`refused a record of ${r.fn} naming ${r.owner.slice(-8)} at epoch ${r.epoch}: ${why}${restored ? '; the record before it was written back' : ''}`) },
    onDeleted: (r, restored) => { note(`the ownership record of ${r.fn} was deleted from the store around the rules${restored ? '; written back as it was (epoch ' + String(r.epoch) + ')' : ''}`) }
  }
}
