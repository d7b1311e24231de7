// The supervisor's error codes: every way a function can fail to start or keep running.
import { defineErrors } from '../core/errors.ts'

export const supervisorError = defineErrors('supervisor', {
  FUNCTION_PORT_IN_USE: { hint: 'Another process listens on the fixed port the genome sets: stop it (ss -ltnp shows which), or drop `port:` from the function so the cell picks a free one.' },
  FUNCTION_SETUP_FAILED: { hint: 'The setup command exited non-zero: read the function log (cell logs <fn>), fix the setup in the genome, then start the function again.' },
  FUNCTION_CONFINE_FAILED: { hint: 'A cell running as root runs each function as its own user, in a mount namespace of its own (util-linux unshare, mount, setpriv): install util-linux, or, where mount namespaces are not allowed (some containers), start the cell with --functions-unconfined (functions then run as root and can read the cell\'s keys).' },
  FUNCTION_DATA_DIR_UNWRITABLE: { hint: 'The cell cannot write the function\'s data directory: make stateDir/data/<fn> a directory owned by the cell user (not a file, not read-only).' },
  FUNCTION_NEVER_HEALTHY: { hint: 'The function never answered 2xx on its health path: check that it listens on $PORT (127.0.0.1) and that `health:` names a path it serves; read its log.' },
  FUNCTION_EXITED: { hint: 'The function\'s process exited on its own; the cell restarts it with backoff. Read the last log lines in this error or the function log.' },
  FUNCTION_CODE_DIR_MISSING: { hint: 'The function\'s code directory does not exist in the checked-out genome: check `code:` in organism.yaml.' },
  FUNCTION_NO_FREE_PORT: { hint: 'The cell found no free port for the function: widen portRange or free ports on 127.0.0.1.' },
  FUNCTION_UNKNOWN: { hint: 'No function of that name in this cell\'s genome: list them with `cell status`.' }
})
