// The router's error codes; each one is also what a client sees in the X-Organism-Error header of an error page.
import { defineErrors } from '../core/errors.ts'

export const routerError = defineErrors('router', {
  ROUTER_BAD_HOST: { hint: 'Send a Host header with a valid domain name or IP literal (e.g. "app.example.org" or "app.example.org:8080").' },
  ROUTER_NO_ROUTE: { hint: 'Add this domain to a function\'s "domain" in organism.yaml (or fix the DNS name the client used).' },
  ROUTER_FUNCTION_UNAVAILABLE: { hint: 'The function is not running here right now (starting, restarting or moving); retry after the Retry-After seconds, or check it with the cell status.' },
  ROUTER_UPSTREAM_FAILED: { hint: 'The function process refused, reset or timed out the connection; check the function\'s logs and health check.' },
  ROUTER_HEADER_TOO_LARGE: { hint: 'Send smaller request headers (large cookies are the usual cause) or raise the router\'s maxHeaderSize.' },
  ROUTER_BAD_REQUEST: { hint: 'The request could not be parsed as HTTP/1.1; check the client.' },
  ROUTER_ROUTE_CONFLICT: { hint: 'Two functions claim the same domain and path prefix in organism.yaml; give each a distinct domain or pathPrefix.' },
  ROUTER_INVALID_ROUTE: { hint: 'Fix the function\'s domain or pathPrefix in organism.yaml: a domain is letters, digits and hyphens separated by dots; a prefix starts with "/".' },
  ROUTER_WRITE_NOT_REPLICATED: { hint: 'The function took the write but its replica did not confirm it in time, so it was not acknowledged (it may or may not be kept). Retry after the Retry-After seconds; `cell status` shows the replica and why it lags.' },
  ROUTER_LISTEN_FAILED: { hint: 'Another process holds the router port, or the cell lacks permission to bind it; free the port, or start the cell with `--port N` (0 picks a free one).' }
})

export type RouterErrorCode = 'ROUTER_BAD_HOST' | 'ROUTER_NO_ROUTE' | 'ROUTER_FUNCTION_UNAVAILABLE' | 'ROUTER_UPSTREAM_FAILED' |
  'ROUTER_HEADER_TOO_LARGE' | 'ROUTER_BAD_REQUEST' | 'ROUTER_ROUTE_CONFLICT' | 'ROUTER_INVALID_ROUTE' | 'ROUTER_LISTEN_FAILED' | 'ROUTER_WRITE_NOT_REPLICATED'
