// The layering of src/ kept by a test: who may import whom (the table below, also in docs/architecture.md), and what the shipped bundle holds.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, readdir, mkdtemp, rm } from 'node:fs/promises'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve, sep } from 'node:path'
import ts from 'typescript'
import { buildCellBundle, CHECKOUT_ONLY } from '../../src/imprint/index.ts'

const root = resolve(new URL('../../', import.meta.url).pathname)

/**
 * The declared order, bottom to top: a module may import itself and the modules listed here, nothing else.
 * 'type:X' allows type-only imports of X (`import type`, `export type`, `typeof import()`), erased at run time.
 * Widening a row is a decision about the architecture: change docs/architecture.md with it (a test checks they agree).
 */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  core: [],
  genome: ['core'],
  state: ['core'],
  peers: ['core'],
  supervisor: ['core', 'genome'],
  router: ['core'],
  forward: ['core'],
  dns: ['core'],
  dashboard: ['core'],
  lab: ['core'],
  imprint: ['core', 'genome'],
  placement: ['core', 'state'],
  ownership: ['core'],
  migrate: ['core', 'state', 'placement', 'ownership'],
  replica: ['core', 'state', 'ownership', 'migrate'],
  divide: ['core', 'genome'],
  update: ['core', 'genome'],
  organism: ['core', 'state', 'peers', 'placement', 'ownership'],
  cell: ['core', 'genome', 'state', 'supervisor', 'router', 'dns', 'dashboard', 'imprint', 'placement', 'ownership', 'migrate', 'divide', 'organism', 'replica', 'forward', 'update'],
  cli: ['core', 'genome', 'state', 'peers', 'supervisor', 'router', 'dns', 'dashboard', 'lab', 'imprint', 'placement', 'migrate', 'divide', 'organism', 'replica', 'cell']
}

interface Import { file: string, line: number, spec: string, typeOnly: boolean, dynamic: boolean, kind: 'import' | 'url' }

/** Every import of a file: static, export-from, type-only, typeof import(), dynamic import('…') with a literal; and new URL('…', import.meta.url). */
function importsOf (file: string, text: string): Import[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
  const out: Import[] = []
  const add = (node: ts.Node, spec: ts.Expression | undefined, typeOnly: boolean, dynamic: boolean, kind: Import['kind'] = 'import'): void => {
    if (spec == null || !ts.isStringLiteralLike(spec)) return
    out.push({ file, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, spec: spec.text, typeOnly, dynamic, kind })
  }
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const c = node.importClause
      const named = c?.namedBindings != null && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : null
      const allTypes = c != null && (c.isTypeOnly || (c.name == null && named != null && named.length > 0 && named.every((e) => e.isTypeOnly)))
      add(node, node.moduleSpecifier, allTypes, false)
    } else if (ts.isExportDeclaration(node)) {
      const named = node.exportClause != null && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : null
      add(node, node.moduleSpecifier, node.isTypeOnly || (named != null && named.length > 0 && named.every((e) => e.isTypeOnly)), false)
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument
      if (ts.isLiteralTypeNode(arg)) add(node, arg.literal as ts.Expression, true, false)
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node, node.arguments[0], false, true)
    } else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'URL' && node.arguments?.length === 2 &&
        node.arguments[1].getText(sf) === 'import.meta.url') {
      add(node, node.arguments[0], false, false, 'url')
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
  return out
}

async function tsFiles (dir: string): Promise<string[]> {
  const entries = await readdir(join(root, dir), { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/')).sort()
}

/** Where a relative import lands, from the checkout's root ('src/dns/index.ts'); null for a package or node: builtin. */
function target (imp: Import): string | null {
  if (!imp.spec.startsWith('.')) return null
  return relative(root, resolve(root, dirname(imp.file), imp.spec)).split(sep).join('/')
}

const moduleOf = (path: string): string | null => path.startsWith('src/') && path.split('/').length > 2 ? path.split('/')[1] : null
const where = (imp: Import): string => `${imp.file}:${imp.line} ${imp.kind === 'url' ? 'refers to' : imp.dynamic ? 'dynamically imports' : imp.typeOnly ? 'imports types from' : 'imports'} '${imp.spec}'`
const allowedText = (mod: string): string => MAY_IMPORT[mod].length === 0 ? 'nothing' : MAY_IMPORT[mod].map((m) => m.replace(/^type:(.*)$/, '$1 (types)')).join(', ')

/** What is wrong with one import of a src/ file, or null. */
function violation (imp: Import, devDependencies: ReadonlySet<string>): string | null {
  const from = moduleOf(imp.file) as string
  const to = target(imp)
  if (to == null) {
    if (imp.kind === 'url' || imp.spec.startsWith('node:')) return null
    const pkg = imp.spec.startsWith('@') ? imp.spec.split('/').slice(0, 2).join('/') : imp.spec.split('/')[0]
    if (devDependencies.has(pkg) && !imp.typeOnly && !imp.dynamic) {
      return `${where(imp)}, a devDependency, statically. Rule: running code loads a devDependency only by a dynamic import() where it is needed (a production install lacks it, and the bundle must not carry it). Import its types with \`import type\` and the code with \`await import('${pkg}')\`.`
    }
    return null
  }
  if (/^(scripts|test|bench)\//.test(to)) {
    return `${where(imp)}, under ${to.split('/')[0]}/. Rule: no src/ file imports or loads scripts/, test/ or bench/ (they are not shipped and sit above everything). Move what it needs into the src/ module that owns it, and have the script import it from there.`
  }
  if (imp.kind === 'url') return null
  const mod = moduleOf(to)
  if (mod == null) return `${where(imp)}, outside src/. Rule: src/ imports only src/ and packages. Move it into src/.`
  if (mod === from) return null
  if (mod === 'cli') {
    return `${where(imp)}. Rule: nothing outside src/cli imports src/cli (cli is the top: argv in, errors with their hint out). Move what both need down into the module that owns it (its errors into that module's errors.ts) and import it from there in both.`
  }
  const allowed = MAY_IMPORT[from]
  if (allowed.includes(mod) || (imp.typeOnly && allowed.includes(`type:${mod}`))) return null
  const typesHint = allowed.includes(`type:${mod}`) ? ` (${from} may import only types from ${mod}: use \`import type\`)` : ''
  return `${where(imp)}, in module ${mod}. Rule: ${from} may import ${allowedText(from)}; not ${mod}${typesHint}. Have the caller above pass ${from} what it needs from ${mod} (an interface or a function; compose in cell or cli), or move the shared piece down; widen the table in test/unit/layering.test.ts and docs/architecture.md only if the order in docs/architecture.md allows it.`
}

test('the import parser sees every kind of import, and not one in a comment or a string', () => {
  const text = [
    "import { a } from './a.ts'", "import type { B } from './b.ts'", "import { type C, type D } from './c.ts'", "import e, { type E } from './e.ts'",
    "export { f } from './f.ts'", "export type { G } from './g.ts'", "import './h.ts'", "const i = await import('./i.ts')",
    "type J = typeof import('./j.ts')", "const k = new URL('./k.ts', import.meta.url)", "// import { no } from './comment.ts'",
    "const s = \"import { no } from './string.ts'\"", "const m = await import(name)"
  ].join('\n')
  const seen = importsOf('src/x/y.ts', text).map((i) => `${i.spec}${i.typeOnly ? ' type' : ''}${i.dynamic ? ' dynamic' : ''}${i.kind === 'url' ? ' url' : ''}`)
  assert.deepEqual(seen, ['./a.ts', './b.ts type', './c.ts type', './e.ts', './f.ts', './g.ts type', './h.ts', './i.ts dynamic', './j.ts type', './k.ts url'])
})

test('every import in src/ keeps the declared order (the table), and nothing in src/ loads scripts/, test/, bench/ or cli from below', async (t) => {
  const modules = (await readdir(join(root, 'src'), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort()
  const unplaced = modules.filter((m) => MAY_IMPORT[m] == null)
  if (unplaced.length > 0) assert.fail(`src/${unplaced[0]} is not in the layering table: add it to MAY_IMPORT in test/unit/layering.test.ts with the modules it may import, and to docs/architecture.md`)
  for (const [mod, allowed] of Object.entries(MAY_IMPORT)) {
    for (const a of allowed) assert.ok(MAY_IMPORT[a.replace(/^type:/, '')] != null, `${mod} may import ${a}, which is not a module`)
  }
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> }
  const dev = new Set(Object.keys(pkg.devDependencies ?? {}))
  const problems: string[] = []
  const used = new Map<string, Set<string>>()
  const files = await tsFiles('src')
  for (const file of files) {
    for (const imp of importsOf(file, await readFile(join(root, file), 'utf8'))) {
      const v = violation(imp, dev)
      if (v != null) problems.push(v)
      const to = target(imp)
      const mod = to == null || imp.kind === 'url' ? null : moduleOf(to)
      const from = moduleOf(file) as string
      if (mod != null && mod !== from) used.set(from, (used.get(from) ?? new Set()).add(mod))
    }
  }
  // Allowed but unused today (cli, which may import anything, aside): room the order leaves, shown so it can be tightened.
  const room = Object.entries(MAY_IMPORT).filter(([m]) => m !== 'cli').flatMap(([m, allowed]) => allowed.filter((a) => !used.get(m)?.has(a.replace(/^type:/, ''))).map((a) => `${m} -> ${a}`))
  t.diagnostic(`${files.length} files; allowed, not used today: ${room.join(', ') || 'none'}`)
  assert.ok(files.length > 100, `expected src/ to have its files, found ${files.length}`)
  if (problems.length > 0) assert.fail(`${problems.length} imports break the layering:\n  ${problems.join('\n  ')}`)
})

test('no file imports scripts/: scripts are entry points, not libraries', async () => {
  const problems: string[] = []
  for (const dir of ['test', 'bench', 'scripts']) {
    for (const file of await tsFiles(dir)) {
      for (const imp of importsOf(file, await readFile(join(root, file), 'utf8'))) {
        if (imp.kind === 'import' && target(imp)?.startsWith('scripts/') === true) {
          problems.push(`${where(imp)}. Rule: nothing imports scripts/. Move what it needs into src/ (the script then wraps it) and import it from there.`)
        }
      }
    }
  }
  if (problems.length > 0) assert.fail(problems.join('\n'))
})

test('the shipped cell bundle holds no lab code and no esbuild, and starts', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'organism-bundle-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const started = Date.now()
  const bundle = await buildCellBundle(join(dir, 'cell.mjs'))
  const ms = Date.now() - started
  const lab = bundle.inputs.filter((i) => CHECKOUT_ONLY.some((d) => i.startsWith(d)))
  const esbuild = bundle.inputs.filter((i) => /(^|\/)node_modules\/esbuild\//.test(i))
  const above = bundle.inputs.filter((i) => /^(scripts|test|bench)\//.test(i))
  const stubbed = bundle.inputs.filter((i) => i.startsWith('checkout-only:'))
  t.diagnostic(`cell bundle: ${(bundle.bytes / 1024 / 1024).toFixed(2)} MB (${bundle.bytes} bytes), ${bundle.inputs.length} inputs, built in ${ms} ms; stubbed: ${stubbed.join(', ') || 'none'}`)
  assert.deepEqual(lab, [], `the bundle holds checkout-only code: ${lab.join(', ')}. Reach it only by a dynamic import() from code that may run in the bundle (the build then stubs it), not a static import.`)
  assert.deepEqual(esbuild, [], `the bundle holds esbuild: ${esbuild.join(', ')}. Load esbuild only with await import('esbuild') where the bundle is built, and keep it in the build's external list.`)
  assert.deepEqual(above, [], `the bundle holds files from scripts/, test/ or bench/: ${above.join(', ')}`)
  // The stubs throw when loaded: the bundle must still start when nothing reaches them.
  const help = spawnSync(process.execPath, [bundle.outfile, 'help'], { encoding: 'utf8', timeout: 30_000 })
  assert.equal(help.status, 0, `the bundle did not start: ${help.stderr}`)
  assert.match(help.stdout, /usage: cell/)
})

test('docs/architecture.md shows the same table', async () => {
  const doc = await readFile(join(root, 'docs', 'architecture.md'), 'utf8')
  const rows = new Map([...doc.matchAll(/^\| `(\w+)` \| ([^|]*) \|/gm)].map((m) => [m[1], m[2].trim()]))
  const wanted = new Map(Object.keys(MAY_IMPORT).map((m) => [m, allowedText(m)]))
  assert.deepEqual(Object.fromEntries(rows), Object.fromEntries(wanted), 'the "may import" table in docs/architecture.md and MAY_IMPORT in test/unit/layering.test.ts differ: change both together')
})
