// Error codes of moving a function and its data between cells.
import { defineErrors } from '../core/errors.ts'

export const migrateError = defineErrors('migrate', {
  MIGRATE_PROTOCOL: { hint: 'The peer sent something that is not a move stream; check that both cells run the same software version.' },
  MIGRATE_CHECKSUM: { hint: 'The data arrived damaged and was discarded; the function stays with its old owner. Run the move again.' },
  MIGRATE_TRUNCATED: { hint: 'The connection ended before all data arrived; the function stays with its old owner. Check the link between the cells and run the move again.' },
  MIGRATE_ARCHIVE_FAILED: { hint: 'tar could not pack or unpack the data directory: check that `tar` is installed, the disk has room and the directory is readable.' },
  MIGRATE_DATA_REFUSED: { hint: 'The data sent holds something a data dir may not: a symlink out of it, a hard link, a device or fifo, a setuid/setgid file, a path outside it, or more bytes than the sender announced (+10 %). Nothing was written; the function stays with its old owner. Remove that from the function\'s data dir on the sender (a function keeps only files and directories there).' },
  MIGRATE_HOLD_EXCEEDED: { hint: 'A live move holds new requests only so long (5 s by default): the changes since the pre-copy, or the start at the new owner, took longer, so the move was called off and the function serves at its old owner again. Move it at a quieter time, or look at why it starts slowly there.' },
  MIGRATE_REFUSED: { hint: 'The receiving cell refused the function (see the message); fix that cause on the receiving cell and run the move again.' },
  MIGRATE_NOT_MOVABLE: { hint: 'A stateless function with instances runs on several cells at once, placed by the organism (the same cells on every member); there is no owner to move. Change its `instances:` in the genome to run it on more or fewer cells.' },
  MIGRATE_NOT_OWNER: { hint: 'Only the cell that owns a function can move it; run `cell move` against the owner shown by `cell status`.' },
  MIGRATE_BULK_UNREACHABLE: { hint: 'The sender could not reach the receiving cell\'s one-shot bulk port within 2 s (a firewall?); the move went over the peer port instead, only slower. To get the fast path, allow TCP from member cells to ephemeral ports on the receiver\'s advertised address.' },
  MIGRATE_UNSIGNED: { hint: 'A move asked of another cell, or a takeover by another cell, is an operator\'s override: run `cell move` with --key PATH, a key in the genome\'s allowed_signers (default ~/.organism/signing_key), or run it on the cell that owns the function.' },
  MIGRATE_UNKNOWN_CELL: { hint: 'Name a live member cell: its name or id from `cell status`, or at least 6 characters of its id that no other cell shares.' }
})
