// Error codes of the command line itself.
import { defineErrors } from '../core/errors.ts'

export const cliError = defineErrors('cli', {
  CLI_USAGE: { hint: 'Run `npx cell help` for the commands and their options.' },
  CLI_CHECKOUT_ONLY: { hint: 'Run this from a checkout of Organism (the demo: `npm start`); the shipped cell bundle, which imprint copies onto hosts, leaves out the lab and its loopback sshd hosts.' },
  NODE_TOO_OLD: { hint: 'Run `npm install` in the checkout (it brings Node 24), or install Node 24.' }
})
