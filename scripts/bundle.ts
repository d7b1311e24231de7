// Builds the cell as one file (dist/cell.mjs) with esbuild: what imprint copies onto a host beside its Node binary.
import { build } from 'esbuild'
import { statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))

/** Bundles src/cli/main.ts and every dependency; CJS dependencies get a real `require` through createRequire. */
export async function buildCellBundle (outfile = `${root}dist/cell.mjs`): Promise<{ outfile: string, bytes: number }> {
  await build({
    entryPoints: [`${root}src/cli/main.ts`],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    logLevel: 'warning',
    legalComments: 'none',
    banner: { js: "import { createRequire as __organismRequire } from 'node:module'; const require = __organismRequire(import.meta.url);" }
  })
  return { outfile, bytes: statSync(outfile).size }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await buildCellBundle(process.argv[2])
  console.log(`${r.outfile}: ${(r.bytes / 1024 / 1024).toFixed(1)} MB`)
}
