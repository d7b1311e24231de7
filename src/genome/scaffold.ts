// The files of a new genome made by `cell init`: pure text, so that they can be validated before anything is written.

/** A directory name turned into an organism name ([a-z][a-z0-9-]*), "organism" when nothing usable is left. */
export function organismNameFrom (dirName: string): string {
  const name = dirName.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+/, '').replace(/-+$/, '').slice(0, 63)
  return name === '' ? 'organism' : name
}

export function scaffoldFiles (organism: string, zone: string, principal: string, publicKey: string): Record<string, string> {
  return {
    'organism.yaml': `# The genome of organism "${organism}": what every cell runs. Check it with: cell genome check .
organism: ${organism}
zone: ${zone}
functions:
  hello:
    code: functions/hello
    start: node server.js
    health: /health
division:
  requests_per_second: 200
  window: 60s
  cooldown: 10m
`,
    allowed_signers: `# Keys that may sign this genome (git) and an operator's overrides across cells (organism-override: cell move).
# Only a commit signed by a key listed here may change this file.
${principal} namespaces="git,organism-override" ${publicKey}
`,
    'README.md': `# ${organism}\n\nAn Organism genome: \`organism.yaml\` lists the functions; every commit must be SSH-signed by a key in \`allowed_signers\`.\n`,
    'functions/hello/server.js': `// A minimal function: answers on $PORT, with /health for the cell's readiness check.
import { createServer } from 'node:http'

const port = Number(process.env.PORT ?? 8080)
createServer((req, res) => {
  if (req.url === '/health') { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ok\\n'); return }
  res.writeHead(200, { 'content-type': 'text/plain' })
  res.end('hello from ${organism}\\n')
}).listen(port, '127.0.0.1')
`,
    'functions/hello/package.json': `{ "name": "hello", "private": true, "type": "module" }\n`
  }
}
