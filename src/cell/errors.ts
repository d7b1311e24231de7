// Error codes of the cell itself: its state directory, its ports, its local API.
import { defineErrors } from '../core/errors.ts'

export const cellError = defineErrors('cell', {
  CELL_ALREADY_RUNNING: { hint: 'Another cell runs with this state directory. Stop it with `cell stop`, or pass another `--state DIR`.' },
  CELL_NOT_RUNNING: { hint: 'Start the cell with `cell start` (or `npm start` for the demo), or pass the `--state DIR` it was started with.' },
  CELL_API_UNREACHABLE: { hint: 'The cell may have died: check `<state>/cell.log`, then start it again with `cell start`.' },
  CELL_NAME_INVALID: { hint: 'Pass `--name` a single DNS label (lower-case letters, digits, inner hyphens, at most 63) that no function\'s domain uses: the cell is `<name>.<zone>` in DNS.' },
  CELL_STATE_UNWRITABLE: { hint: 'Make the state directory writable by this user, or pass another one with `--state DIR`.' },
  CELL_API_UNAUTHORIZED: { hint: 'Send the token from the state directory\'s cell.json as `Authorization: Bearer TOKEN` (the CLI does this; /metrics too, unless the cell was started with --metrics-open).' },
  CELL_API_BAD_HOST: { hint: 'Call the local API as http://127.0.0.1:PORT (the CLI does): another Host header is what a web page using DNS rebinding would send.' },
  CELL_API_NOT_FOUND: { hint: 'The local API has GET /status, GET /metrics, GET /logs/FN[?follow=1&lines=N], POST /admit[?ttl=S], POST /move?fn=F&to=C, POST /divide?host=URL[&fn=F], POST /expel?signed=S and POST /stop.' },
  CELL_API_BAD_REQUEST: { hint: 'The request lacks what the endpoint needs (an expulsion is signed with an operator key: `cell expel CELL --key KEY`); the CLI builds these requests.' }
})
