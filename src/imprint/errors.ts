// The imprint module's error codes and their hints (docs/errors-imprint.md lists the same codes).
import { defineErrors } from '../core/errors.ts'

export const imprintError = defineErrors('imprint', {
  IMPRINT_HOST_URL: { hint: 'Write the host as ssh://user@host[:port] (user and host required).' },
  IMPRINT_HOST_PIN: { hint: 'Pin the host key with a known_hosts line or its SHA256 fingerprint (ssh-keyscan HOST | ssh-keygen -lf -).' },
  IMPRINT_POOL_INVALID: { hint: 'Fix the hosts file: a YAML list of { url, hostKey, labels } entries.' },
  IMPRINT_HOST_KEY_MISMATCH: { hint: 'The host presented another key than the pinned one: check the host out of band; if its key really changed, pin the new one. Nothing was written to it.' },
  IMPRINT_HOST_KEY_UNKNOWN: { hint: 'Pass the host\'s expected fingerprint, or --accept-new-host-key to trust the key it shows now (check the printed fingerprint).' },
  IMPRINT_CONNECT: { hint: 'Check that the host is reachable, sshd runs on that port and the key is authorised for that user.' },
  IMPRINT_TIMEOUT: { hint: 'The host did not answer in time: check the network and its load, then try again.' },
  IMPRINT_ABORTED: { hint: 'The imprint was cancelled; the host was cleaned up. Run it again when ready.' },
  IMPRINT_EXEC_FAILED: { hint: 'A command on the host failed; its output is in the message. Fix the cause on the host and try again.' },
  IMPRINT_CLAIMED: { hint: 'Another cell holds this host; pick another pool host, or release the claim on that cell.' },
  IMPRINT_PREFLIGHT_OS: { hint: 'Imprint needs Linux on x86_64 or arm64 with a POSIX shell.' },
  IMPRINT_PREFLIGHT_DISK: { hint: 'Free disk space in the user\'s home on the host (the runtime and cell need about 300 MB).' },
  IMPRINT_PREFLIGHT_TOOL: { hint: 'Install the missing tool on the host (Debian: apt-get install git openssh-client).' },
  IMPRINT_PREFLIGHT_PORT: { hint: 'Stop what listens on that port on the host, or give the cell other ports.' },
  IMPRINT_PREFLIGHT_HOME: { hint: 'Make the user\'s home on the host exist and be writable by that user.' },
  IMPRINT_NO_RUNTIME: { hint: 'No Node 24 binary for the host\'s platform here: install one for it (npm package `node` on such a machine) and pass nodeBinary.' },
  IMPRINT_COPY_FAILED: { hint: 'Copying to the host failed (connection lost or disk full); the host was cleaned up, try again.' },
  IMPRINT_START_FAILED: { hint: 'The new cell did not start; its log on the host (~/.organism/cell.out) says why.' },
  IMPRINT_JOIN_TIMEOUT: { hint: 'The new cell did not join in time: check that it can reach the parent\'s advertised address and that the token is fresh.' },
  IMPRINT_NO_BUNDLER: { hint: 'Run `npm install` in the checkout with its dev dependencies (esbuild builds the cell bundle), or run the cell from a built bundle (`npm run bundle`, then `node dist/cell.mjs start …`), which copies itself.' },
  IMPRINT_INJECTED: { hint: 'A failure injected by a test (failAt); nothing to do.' }
})
