// The cell as one file (cell.mjs), built with esbuild from a checkout: what imprint copies onto a host beside its Node binary.
import { readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Plugin } from 'esbuild'
import { imprintError } from './errors.ts'

/** The bundle's entry, from the checkout's root. */
export const CELL_ENTRY = 'src/cli/main.ts'
/** Code that runs only from a checkout (the lab's network namespaces and sshd hosts): left out of the bundle. */
export const CHECKOUT_ONLY = ['src/lab/'] as const

export interface CellBundle {
  readonly outfile: string
  readonly bytes: number
  /** Every file that went into the bundle, relative to the checkout's root (esbuild's metafile). */
  readonly inputs: readonly string[]
}

/** The checkout this file sits in; asked for only when building (a shipped bundle never builds). */
const checkoutRoot = (): string => fileURLToPath(new URL('../../', import.meta.url))

/**
 * Bundles src/cli/main.ts and every dependency; CJS dependencies get a real `require` through createRequire.
 * esbuild is loaded here, when building, and is external to the bundle: the running bundle copies itself.
 */
export async function buildCellBundle (outfile = join(checkoutRoot(), 'dist', 'cell.mjs')): Promise<CellBundle> {
  const root = checkoutRoot()
  const esbuild = await import('esbuild').catch((cause: unknown) => {
    throw imprintError('IMPRINT_NO_BUNDLER', 'esbuild is not installed here, so this checkout cannot build the cell bundle', { cause })
  })
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [join(root, CELL_ENTRY)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    logLevel: 'warning',
    legalComments: 'none',
    metafile: true,
    external: ['esbuild'],
    plugins: [noNativeAddons, checkoutOnly(root), inlineEtcdProtos(root)],
    banner: { js: "import { createRequire as __organismRequire } from 'node:module'; const require = __organismRequire(import.meta.url); const __filename = import.meta.filename; const __dirname = import.meta.dirname;" }
  })
  return { outfile, bytes: statSync(outfile).size, inputs: Object.keys(result.metafile.inputs) }
}

/**
 * Native addons (ssh2's optional crypto, cpu-features) cannot travel in one file: they load from a stub that
 * throws, and those packages fall back to pure JS, as they do wherever their build is missing.
 */
const noNativeAddons: Plugin = {
  name: 'no-native-addons',
  setup (b) {
    b.onResolve({ filter: /\.node$/ }, (args) => ({ path: args.path, namespace: 'native-stub' }))
    b.onLoad({ filter: /.*/, namespace: 'native-stub' }, () => ({ contents: 'throw new Error("native addon left out of the bundle")', loader: 'js' }))
  }
}

/**
 * A file under CHECKOUT_ONLY becomes a stub that throws CLI_CHECKOUT_ONLY when loaded. Code that may run from the
 * bundle reaches such a file only through a dynamic import(), so the bundle starts, and only that path fails.
 */
function checkoutOnly (root: string): Plugin {
  const dirs = CHECKOUT_ONLY.map((d) => join(root, d))
  return {
    name: 'checkout-only',
    setup (b) {
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        const file = resolve(args.resolveDir, args.path)
        return dirs.some((d) => file.startsWith(d)) ? { path: relative(root, file).split(sep).join('/'), namespace: 'checkout-only' } : undefined
      })
      b.onLoad({ filter: /.*/, namespace: 'checkout-only' }, (args) => ({
        resolveDir: root,
        loader: 'ts',
        contents: `import { cliError } from './src/cli/errors.ts'\nthrow cliError('CLI_CHECKOUT_ONLY', ${JSON.stringify(`${args.path} runs only from a checkout of Organism: the shipped cell bundle leaves it out`)})\n`
      }))
    }
  }
}

/**
 * etcd3 reads its rpc.proto from disk when it loads, next to its own files, which a one-file bundle does not have:
 * the definitions are parsed here, at build time, and passed to proto-loader's fromJSON instead.
 */
function inlineEtcdProtos (root: string): Plugin {
  return {
    name: 'inline-etcd-protos',
    setup (b) {
      b.onLoad({ filter: /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8')
        const call = /\(0, proto_loader_1\.loadSync\)\(`\$\{__dirname\}\/\.\.\/proto\/rpc\.proto`,/
        if (!call.test(source)) throw new Error(`${args.path} no longer loads rpc.proto as this build expects: update inlineEtcdProtos`)
        const req = createRequire(args.path)
        const protobuf = req(req.resolve('protobufjs', { paths: [req.resolve('@grpc/proto-loader'), root] })) as { Root: new () => { loadSync: (f: string, o: object) => { toJSON: () => unknown } } }
        const json = new protobuf.Root().loadSync(join(args.path, '..', '..', 'proto', 'rpc.proto'), { keepCase: true }).toJSON()
        return { contents: source.replace(call, `(0, proto_loader_1.fromJSON)(${JSON.stringify(json)},`), loader: 'js' }
      })
    }
  }
}
