// `npm run load -- FN --rps N [--seconds S] [--users U] [--path /] [--cell DIR | --router URL --host DOMAIN]`.
import { loadMain } from '../src/cli/load.ts'

process.exitCode = await loadMain(process.argv.slice(2))
