// Route table: host normalisation, ports, trailing dots, IPv6 literals, malformed hosts, prefix matching.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildRouteTable, matchRoute, functionsIn } from '../../src/router/index.ts'
import { isOrganismError } from '../../src/core/errors.ts'

const table = buildRouteTable([
  { function: 'site', domain: 'Example.ORG', pathPrefix: null },
  { function: 'api', domain: 'example.org', pathPrefix: '/api' },
  { function: 'apiv2', domain: 'example.org', pathPrefix: '/api/v2/' },
  { function: 'only-prefix', domain: 'p.example.org.', pathPrefix: '/x' },
  { function: 'v6', domain: '[::1]', pathPrefix: null },
  { function: 'v4', domain: '127.0.0.1', pathPrefix: null }
])

const fnOf = (host: string | undefined, path = '/'): string => {
  const m = matchRoute(table, host, path)
  return m.kind === 'match' ? m.entry.function : m.kind
}

test('domains are stored lower-case without trailing dot', () => {
  assert.deepEqual([...table.byHost.keys()].sort(), ['127.0.0.1', '[::1]', 'example.org', 'p.example.org'])
  assert.deepEqual(functionsIn(table).sort(), ['api', 'apiv2', 'only-prefix', 'site', 'v4', 'v6'])
})

test('host normalisation: case, port, trailing dot', () => {
  assert.equal(fnOf('example.org'), 'site')
  assert.equal(fnOf('EXAMPLE.org'), 'site')
  assert.equal(fnOf('example.org:8080'), 'site')
  assert.equal(fnOf('example.org.'), 'site')
  assert.equal(fnOf('example.org.:443'), 'site')
  assert.equal(fnOf('127.0.0.1:3000'), 'v4')
})

test('IPv6 literals', () => {
  assert.equal(fnOf('[::1]'), 'v6')
  assert.equal(fnOf('[::1]:8080'), 'v6')
  assert.equal(fnOf('[::2]:8080'), 'no-route')
  assert.equal(fnOf('[::1'), 'bad-host')
  assert.equal(fnOf('[zz::1]'), 'bad-host')
  assert.equal(fnOf('[::1]x'), 'bad-host')
  assert.equal(fnOf('::1'), 'bad-host')
})

test('malformed and missing hosts are bad-host, unknown valid hosts are no-route', () => {
  for (const h of [undefined, '', ':80', 'a..b', 'exa mple.org', 'example.org:http', 'example.org:99999', '-bad.org', 'bad-.org', 'a/b', 'x'.repeat(64) + '.org', 'a@b.org']) {
    assert.equal(matchRoute(table, h, '/').kind, 'bad-host', `host ${String(h)}`)
  }
  const m = matchRoute(table, 'Other.Example.org:81', '/')
  assert.deepEqual(m, { kind: 'no-route', host: 'other.example.org' })
  assert.equal(fnOf('localhost'), 'no-route')
})

test('longest path prefix wins, on a segment boundary', () => {
  assert.equal(fnOf('example.org', '/'), 'site')
  assert.equal(fnOf('example.org', '/api'), 'api')
  assert.equal(fnOf('example.org', '/api/'), 'api')
  assert.equal(fnOf('example.org', '/api?x=1'), 'api')
  assert.equal(fnOf('example.org', '/api/users'), 'api')
  assert.equal(fnOf('example.org', '/apis'), 'site')
  assert.equal(fnOf('example.org', '/api/v2'), 'apiv2')
  assert.equal(fnOf('example.org', '/api/v2/things?a'), 'apiv2')
  assert.equal(fnOf('example.org', '/api/v20'), 'api')
  assert.equal(fnOf('p.example.org', '/x/1'), 'only-prefix')
  assert.equal(fnOf('p.example.org', '/y'), 'no-route')
})

test('invalid and conflicting routes are refused with a code', () => {
  assert.throws(() => buildRouteTable([{ function: 'a', domain: 'bad domain', pathPrefix: null }]), (e) => isOrganismError(e, 'ROUTER_INVALID_ROUTE'))
  assert.throws(() => buildRouteTable([{ function: 'a', domain: 'a.org', pathPrefix: 'api' }]), (e) => isOrganismError(e, 'ROUTER_INVALID_ROUTE'))
  assert.throws(() => buildRouteTable([{ function: 'a', domain: 'a.org', pathPrefix: null }, { function: 'b', domain: 'A.org.', pathPrefix: '/' }]), (e) => isOrganismError(e, 'ROUTER_ROUTE_CONFLICT'))
  assert.throws(() => buildRouteTable([{ function: 'a', domain: 'a.org', pathPrefix: '/x/' }, { function: 'b', domain: 'a.org', pathPrefix: '/x' }]), (e) => isOrganismError(e, 'ROUTER_ROUTE_CONFLICT'))
})
