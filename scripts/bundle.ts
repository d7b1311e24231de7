// `npm run bundle [-- OUTFILE]`: builds the cell as one file (default dist/cell.mjs); the builder is src/imprint/cell-bundle.ts.
import { buildCellBundle } from '../src/imprint/index.ts'

const r = await buildCellBundle(process.argv[2])
console.log(`${r.outfile}: ${(r.bytes / 1024 / 1024).toFixed(1)} MB`)
