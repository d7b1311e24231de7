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
    // Native addons (ssh2's optional crypto, cpu-features) cannot travel in one file: they load from a stub that
    // throws, and those packages fall back to pure JS, as they do wherever their build is missing.
    plugins: [{
      name: 'no-native-addons',
      setup (b) {
        b.onResolve({ filter: /\.node$/ }, (args) => ({ path: args.path, namespace: 'native-stub' }))
        b.onLoad({ filter: /.*/, namespace: 'native-stub' }, () => ({ contents: 'throw new Error("native addon left out of the bundle")', loader: 'js' }))
      }
    }],
    banner: { js: "import { createRequire as __organismRequire } from 'node:module'; const require = __organismRequire(import.meta.url); const __filename = import.meta.filename; const __dirname = import.meta.dirname;" }
  })
  return { outfile, bytes: statSync(outfile).size }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await buildCellBundle(process.argv[2])
  console.log(`${r.outfile}: ${(r.bytes / 1024 / 1024).toFixed(1)} MB`)
}
