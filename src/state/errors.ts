// The state module's error codes: bad records and bad messages, named so that logs and counters agree.
import { defineErrors } from '../core/errors.ts'

export const stateError = defineErrors('state', {
  STATE_RECORD_MALFORMED: { hint: 'A record or message does not have the expected shape; it was dropped. If it keeps coming from one cell, that cell runs other software: compare `cell status` versions.' },
  STATE_RECORD_TOO_LARGE: { hint: 'A record is larger than maxRecordBytes and was dropped: keep cell records small (addresses, load, function names), or raise maxRecordBytes on every cell.' },
  STATE_RECORD_FORGED: { hint: 'A record\'s signature does not verify against its writer\'s key; it was dropped. Check which member relayed it (details.from): it may be compromised.' },
  STATE_WRONG_WRITER: { hint: 'A record was signed by a cell that may not write it (a cell record by another cell, or a placement not signed by its owner); it was dropped.' },
  STATE_NOT_MEMBER_RECORD: { hint: 'A member relayed a record written by a cell that is not a member; it was dropped and not passed on. Once a cell is admitted its records are taken (anti-entropy brings them within seconds); if it keeps coming, look at the relaying member (details.from).' },
  STATE_OVER_QUOTA: { hint: 'A writer already holds as many records as one cell may (maxKeysPerWriter), or the store is full (maxRecords); the record was dropped. A cell writes its own record and one per function it owns: look at that writer, it may be compromised.' },
  STATE_FLOOD: { hint: 'A member sent more messages than its token bucket allows; the excess was dropped. Look at that member (details.from); raise floodRate only if legitimate traffic is being dropped.' },
  STATE_NOT_OWNER: { hint: 'Only the current owner of a function (or a claimant with a higher epoch) may write its placement: read placements() and claim with epoch = current epoch + 1.' }
})
