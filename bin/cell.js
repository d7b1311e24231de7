#!/usr/bin/env node
// Entry for `npx cell`: runs the TypeScript CLI on Node 24, re-executing under the project's own Node when the system one is older.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const main = join(root, 'src', 'cli', 'main.ts')
const major = Number(process.versions.node.split('.')[0])
if (major >= 24) {
  await import(main)
} else {
  const own = join(root, 'node_modules', 'node', 'bin', 'node')
  if (!existsSync(own)) {
    console.error(`error NODE_TOO_OLD: Node ${process.versions.node} cannot run the cell; it needs Node 24.\n  hint: run \`npm install\` in ${root} (it brings Node 24), or install Node 24.`)
    process.exit(1)
  }
  const r = spawnSync(own, [main, ...process.argv.slice(2)], { stdio: 'inherit' })
  process.exit(r.status ?? 1)
}
