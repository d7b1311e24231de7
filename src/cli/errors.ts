// Error codes of the command line itself.
import { defineErrors } from '../core/errors.ts'

export const cliError = defineErrors('cli', {
  CLI_USAGE: { hint: 'Run `npx cell help` for the commands and their options.' },
  NODE_TOO_OLD: { hint: 'Run `npm install` in the checkout (it brings Node 24), or install Node 24.' }
})
