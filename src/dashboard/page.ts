// The live map page: one self-contained HTML document (inline CSS and script, no external assets), and its headers.
import { createHash } from 'node:crypto'
import { pageScript } from './page-script.ts'

const css = `
:root { color-scheme: light dark; --bg: #f6f7f4; --card: #fff; --ink: #1d2320; --muted: #5d6761; --line: #dde2dc;
  --alive: #1f7a4d; --alive-bg: #e3f3ea; --suspect: #8a5a00; --suspect-bg: #fbf0d4; --dead: #9b2c2c; --dead-bg: #f6e1e1;
  --move: #2f5fa8; --move-bg: #e2ebf8; --accent: #3b6e5a; }
@media (prefers-color-scheme: dark) { :root { --bg: #151917; --card: #1e2421; --ink: #e3e8e4; --muted: #9aa59f; --line: #2f3833;
  --alive: #6fcf97; --alive-bg: #1d3428; --suspect: #f2c46d; --suspect-bg: #3a3020; --dead: #f19a9a; --dead-bg: #3b2222;
  --move: #8fb4ee; --move-bg: #1f2b3d; --accent: #8cc7ad; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
code, .addr, .nums, .id, time { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: 0.86em; }
.top { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.3rem 1rem; padding: 1rem 1.25rem 0.5rem; }
.top h1 { margin: 0; font-size: 1.35rem; font-weight: 650; letter-spacing: -0.01em; }
.top .zone { color: var(--muted); }
.conn { margin-left: auto; display: inline-flex; align-items: center; gap: 0.4rem; color: var(--muted); font-size: 0.9em; }
.conn .dot { width: 0.6rem; height: 0.6rem; border-radius: 50%; background: var(--muted); }
.conn[data-state="live"] .dot { background: var(--alive); }
.conn[data-state="down"] .dot { background: var(--dead); }
.summary { padding: 0 1.25rem 0.75rem; margin: 0; color: var(--muted); }
main { display: grid; grid-template-columns: minmax(0, 1fr) 22rem; gap: 1rem; padding: 0 1.25rem 1.5rem; align-items: start; }
@media (max-width: 900px) { main { grid-template-columns: minmax(0, 1fr); } }
.cells { display: grid; grid-template-columns: repeat(auto-fill, minmax(19rem, 1fr)); gap: 1rem; }
@media (max-width: 420px) { .cells { grid-template-columns: minmax(0, 1fr); } .top, .summary, main { padding-left: 0.75rem; padding-right: 0.75rem; } }
.cell { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 0.9rem 1rem; box-shadow: 0 1px 2px rgb(0 0 0 / 4%); }
.cell.state-suspect { border-color: var(--suspect); }
/* Grey out the content but not the badge: a filter on the card would drain the badge's colour too. */
.cell.state-dead { border-style: dashed; box-shadow: none; background: transparent; }
.cell.state-dead > :not(.cell-head):not(.note), .cell.state-dead h2 { filter: grayscale(1); opacity: 0.55; }
.cell.state-dead h2 { text-decoration: line-through; text-decoration-thickness: 1px; }
.note { margin: 0 0 0.6rem; font-size: 0.88em; }
.state-dead .note { color: var(--dead); }
.state-suspect .note { color: var(--suspect); }
.cell-head { display: flex; align-items: center; justify-content: space-between; gap: 0.5rem; }
.cell h2 { margin: 0; font-size: 1.08rem; font-weight: 620; overflow-wrap: anywhere; }
.you { margin-left: 0.5rem; font-size: 0.72rem; font-weight: 500; color: var(--accent); border: 1px solid currentColor; border-radius: 99px; padding: 0 0.45rem; vertical-align: 0.15em; }
.meta { display: flex; flex-wrap: wrap; gap: 0.2rem 0.8rem; margin: 0.3rem 0 0.7rem; color: var(--muted); font-size: 0.9em; }
.badge { display: inline-flex; align-items: center; gap: 0.3rem; padding: 0.05rem 0.55rem; border-radius: 99px; font-size: 0.8rem; font-weight: 600; white-space: nowrap; }
.badge .mark { font-size: 0.75em; }
.cell-alive { color: var(--alive); background: var(--alive-bg); }
.cell-suspect { color: var(--suspect); background: var(--suspect-bg); }
.cell-dead { color: var(--dead); background: var(--dead-bg); text-transform: uppercase; letter-spacing: 0.04em; }
.badge[class*="fn-"] { color: var(--muted); background: transparent; border: 1px solid var(--line); font-weight: 500; }
.fn-running, .fn-healthy, .fn-up { color: var(--alive) !important; }
.fn-moving { color: var(--move) !important; background: var(--move-bg) !important; border-color: transparent !important; }
.fn-failed, .fn-crashed, .fn-stopped, .fn-backoff { color: var(--dead) !important; }
.load { display: grid; grid-template-columns: repeat(3, 1fr); gap: 0.5rem; margin: 0 0 0.7rem; }
.stat { background: var(--bg); border-radius: 8px; padding: 0.35rem 0.55rem; }
.stat dt { font-size: 0.72rem; color: var(--muted); text-transform: uppercase; letter-spacing: 0.05em; }
.stat dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; white-space: nowrap; }
.fns { list-style: none; margin: 0; padding: 0; border-top: 1px solid var(--line); }
.fn { display: flex; justify-content: space-between; align-items: center; gap: 0.75rem; padding: 0.5rem 0; border-bottom: 1px solid var(--line); }
.fn:last-child { border-bottom: 0; padding-bottom: 0; }
.fn .who { min-width: 0; }
.fn-name { font-weight: 600; margin-right: 0.45rem; }
.domain { color: var(--muted); font-size: 0.85em; overflow-wrap: anywhere; }
.nums { display: flex; flex-direction: column; align-items: flex-end; color: var(--muted); font-variant-numeric: tabular-nums; white-space: nowrap; }
.nums span:first-child { color: var(--ink); }
.fn.moving { background: repeating-linear-gradient(135deg, var(--move-bg) 0 10px, transparent 10px 20px); background-size: 200% 100%; margin: 0 -0.5rem; padding-left: 0.5rem; padding-right: 0.5rem; border-radius: 6px; animation: slide 2.5s linear infinite; }
@keyframes slide { to { background-position: -28px 0; } }
@media (prefers-reduced-motion: reduce) { .fn.moving { animation: none; } }
.empty { color: var(--muted); font-style: italic; margin: 0.3rem 0 0; }
aside { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 0.9rem 1rem; }
aside h2 { margin: 0 0 0.5rem; font-size: 1rem; }
.events { list-style: none; margin: 0; padding: 0; max-height: 70vh; overflow-y: auto; }
/* Fixed columns so every event's text starts at the same place. */
.ev { display: grid; grid-template-columns: 4.4rem 4.6rem minmax(0, 1fr); gap: 0.5rem; align-items: baseline; padding: 0.3rem 0; border-bottom: 1px solid var(--line); font-size: 0.9em; }
.ev:last-child { border-bottom: 0; }
.ev time { color: var(--muted); }
.ev .kind { font-size: 0.72rem; font-weight: 650; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); }
.ev-join .kind, .ev-alive .kind { color: var(--alive); }
.ev-dead .kind, .ev-tamper .kind { color: var(--dead); }
.ev-heal .kind { color: var(--alive); }
.ev-suspect .kind, .ev-restart .kind { color: var(--suspect); }
.ev-move .kind { color: var(--move); }
.ev .text { overflow-wrap: anywhere; }
.picture { margin: 0 1.25rem 1rem; background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 0.5rem; }
.picture svg { display: block; width: 100%; height: auto; max-height: 60vh; }
.picture .legend { display: flex; flex-wrap: wrap; gap: 0.2rem 1rem; margin: 0.2rem 0.5rem 0.3rem; color: var(--muted); font-size: 0.82em; }
.picture .legend i { display: inline-block; width: 1.6rem; height: 0; border-top: 2px solid var(--move); vertical-align: middle; margin-right: 0.3rem; }
.picture .legend i.fwd { border-top-color: var(--muted); border-top-style: dotted; }
.picture .legend i.mv-now { border-top-style: dashed; }
.node rect.box { fill: var(--card); stroke: var(--line); stroke-width: 1.5; }
.node.st-alive rect.box { stroke: var(--alive); }
.node.st-suspect rect.box { stroke: var(--suspect); stroke-dasharray: 6 3; }
.node.st-dead rect.box { stroke: var(--dead); stroke-dasharray: 3 3; fill: transparent; }
.node text { fill: var(--ink); font: 600 13px system-ui, sans-serif; }
.node text.state { fill: var(--muted); font-weight: 500; font-size: 11px; }
.node.st-dead text { fill: var(--muted); }
.chip rect { fill: var(--bg); }
.chip text { font-weight: 500; font-size: 11.5px; }
.chip text.rate { fill: var(--muted); font-size: 10.5px; font-variant-numeric: tabular-nums; }
.chip.moving rect { fill: var(--move-bg); }
.spark { fill: none; stroke: var(--accent); stroke-width: 1.2; }
.flow { fill: none; stroke-width: 2; }
.flow.k-move { stroke: var(--move); }
.flow.k-moving { stroke: var(--move); stroke-dasharray: 7 4; }
.flow.k-forward { stroke: var(--muted); stroke-dasharray: 2 3; }
.flow-label { font: 500 11px system-ui, sans-serif; fill: var(--muted); paint-order: stroke; stroke: var(--card); stroke-width: 4px; stroke-linejoin: round; }
.flow-label.k-move, .flow-label.k-moving { fill: var(--move); }
.head-move { fill: var(--move); }
.head-forward { fill: var(--muted); }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>organism map</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='6' fill='%233b6e5a'/%3E%3C/svg%3E">
<style>${css}</style>
</head>
<body>
<header class="top">
  <h1 id="organism">organism</h1>
  <span class="zone" id="zone"></span>
  <span class="conn" id="conn" data-state="connecting" role="status"><span class="dot" aria-hidden="true"></span><span>connecting…</span></span>
</header>
<p class="summary"><span id="summary">waiting for the first view…</span> · <span id="updated"></span></p>
<figure class="picture" id="picture-box">
  <svg id="picture" role="img" aria-labelledby="picture-title" viewBox="0 0 400 120"><title id="picture-title">the organism</title></svg>
  <figcaption class="legend"><span><i></i>moved (last minute)</span><span><i class="mv-now"></i>moving now</span><span><i class="fwd"></i>forwarded from this cell</span><span>lines in a box: requests/s, last 40 updates</span></figcaption>
</figure>
<main>
  <section class="cells" id="cells" aria-label="cells"></section>
  <aside aria-labelledby="events-title">
    <h2 id="events-title">Recent events</h2>
    <ol class="events" id="events"></ol>
  </aside>
</main>
<div class="sr" id="announce" aria-live="polite"></div>
<script>${pageScript}</script>
</body>
</html>
`

const sha256 = (s: string): string => `'sha256-${createHash('sha256').update(s).digest('base64')}'`

// Hashes, not 'unsafe-inline': even if a cell or function name ever slipped into the markup, no other script runs.
const csp = [
  "default-src 'none'", `script-src ${sha256(pageScript)}`, `style-src ${sha256(css)}`,
  "connect-src 'self'", "img-src 'self' data:", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"
].join('; ')

export function renderPage (): string {
  return html
}

export function pageHeaders (): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer'
  }
}
