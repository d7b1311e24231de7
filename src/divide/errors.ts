// Error codes of division by itself: so far, those of the load generator (the policy is pure and never throws).
import { defineErrors } from '../core/errors.ts'

export const divideError = defineErrors('divide', {
  DIVIDE_LOAD_USAGE: { hint: 'Run `npm run load -- FN --rps N [--seconds S] [--users U] [--path /] [--cell STATE_DIR | --router http://127.0.0.1:PORT --host DOMAIN]`.' },
  DIVIDE_LOAD_BAD_ROUTER: { hint: 'Give the router as a plain http URL, e.g. `--router http://127.0.0.1:8080`, or use `--cell STATE_DIR` to find it.' },
  DIVIDE_LOAD_UNKNOWN_FUNCTION: { hint: 'Use a function name from `cell status`, or give its domain yourself with `--host DOMAIN`.' },
  DIVIDE_LOAD_FAILED: { hint: 'Most requests failed: check that the function is running (`cell status`) and look at its log (`cell logs FN`).' }
})
