// The page's script (vanilla JS, shipped as a string): follow the SSE stream and redraw only what changed.

// Plain JS on purpose: no build step, and every cell can serve it. Data is only ever set as text, never as HTML.
export const pageScript = String.raw`
'use strict'
const $ = (id) => document.getElementById(id)
const cellsEl = $('cells'), eventsEl = $('events'), connEl = $('conn'), updatedEl = $('updated')
const summaryEl = $('summary'), announceEl = $('announce'), titleEl = $('organism'), zoneEl = $('zone')
const cards = new Map() // cell id -> { key, el }: a card is rebuilt only when its own data changed
const seenStates = new Map()
let lastEventsKey = '', lastViewAt = 0, source = null, retryDelay = 1000

function el (tag, cls, text) {
  const e = document.createElement(tag)
  if (cls) e.className = cls
  if (text != null) e.textContent = String(text)
  return e
}
function rate (n) { return n >= 100 ? Math.round(n).toString() : n >= 10 ? n.toFixed(1) : n.toFixed(2).replace(/\.?0+$/, '') || '0' }
function bytes (b) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']; let i = 0
  while (b >= 1024 && i < u.length - 1) { b /= 1024; i++ }
  return (i === 0 ? b : b.toFixed(b >= 100 ? 0 : 1)) + ' ' + u[i]
}
function ms (n) { return n >= 100 ? Math.round(n) + ' ms' : n.toFixed(1).replace(/\.0$/, '') + ' ms' }
function clock (t) { return new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }) }
function ago (t) {
  const s = Math.max(0, Math.round((Date.now() - t) / 1000))
  return s < 2 ? 'just now' : s < 60 ? s + ' s ago' : Math.round(s / 60) + ' min ago'
}
// Every state gets a word and a symbol, so colour is never the only signal.
const cellMarks = { alive: '\u25CF', suspect: '\u25D0', dead: '\u2715' }
function badge (state, kind) {
  const b = el('span', 'badge ' + kind + '-' + state.replace(/[^a-z-]/gi, ''))
  b.append(el('span', 'mark', kind === 'cell' ? (cellMarks[state] || '?') : state === 'moving' ? '\u21C4' : '\u25CF'))
  b.append(el('span', null, state))
  b.firstChild.setAttribute('aria-hidden', 'true')
  return b
}
function stat (label, value) {
  const d = el('div', 'stat')
  d.append(el('dt', null, label), el('dd', null, value))
  return d
}

function fnRow (f) {
  const li = el('li', 'fn' + (f.state === 'moving' ? ' moving' : ''))
  li.dataset.fn = f.name
  const who = el('div', 'who')
  const name = el('span', 'fn-name', f.name)
  who.append(name, badge(f.state, 'fn'), el('div', 'domain', f.domain))
  const nums = el('div', 'nums')
  nums.append(el('span', null, rate(f.requestsPerSecond) + ' req/s'), el('span', null, 'p99 ' + ms(f.p99Ms)), el('span', 'epoch', 'epoch ' + f.epoch))
  li.append(who, nums)
  return li
}

function card (c, self) {
  const art = el('article', 'cell state-' + c.state)
  art.dataset.cell = c.id
  art.dataset.state = c.state
  art.setAttribute('aria-label', 'cell ' + c.name + ', ' + c.state)
  const head = el('header', 'cell-head')
  const h = el('h2', null, c.name)
  if (c.id === self) h.append(el('span', 'you', 'this cell'))
  head.append(h, badge(c.state, 'cell'))
  const meta = el('p', 'meta')
  const id = el('code', 'id', c.id.length > 16 ? c.id.slice(0, 6) + '\u2026' + c.id.slice(-6) : c.id)
  id.title = c.id
  meta.append(id, el('span', 'addr', c.address), el('span', 'genome', 'genome ' + c.genome))
  const load = el('dl', 'load')
  load.append(stat('req/s', rate(c.load.requestsPerSecond)), stat('cpu cores', c.load.cpu.toFixed(2)), stat('memory', bytes(c.load.memoryBytes)))
  art.append(head, meta)
  // Say in words what the state means for the user of the map.
  if (c.state === 'dead') art.append(el('p', 'note', 'Not answering. Figures and functions below are the last known.'))
  if (c.state === 'suspect') art.append(el('p', 'note', 'Not answering directly; other cells are checking.'))
  art.append(load)
  const fns = [...c.functions].sort((a, b) => a.name.localeCompare(b.name))
  if (fns.length === 0) art.append(el('p', 'empty', 'no functions'))
  else {
    const ul = el('ul', 'fns')
    ul.setAttribute('aria-label', 'functions on ' + c.name)
    for (const f of fns) ul.append(fnRow(f))
    art.append(ul)
  }
  return art
}

function renderCells (v) {
  const sorted = [...v.cells].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
  const keep = new Set()
  let prev = null
  for (const c of sorted) {
    keep.add(c.id)
    const key = JSON.stringify(c) + (c.id === v.self)
    let entry = cards.get(c.id)
    if (!entry || entry.key !== key) {
      const fresh = card(c, v.self)
      if (entry) entry.el.replaceWith(fresh)
      entry = { key, el: fresh }
      cards.set(c.id, entry)
    }
    const want = prev ? prev.nextSibling : cellsEl.firstChild
    if (want !== entry.el) cellsEl.insertBefore(entry.el, want)
    prev = entry.el
  }
  for (const [id, entry] of cards) if (!keep.has(id)) { entry.el.remove(); cards.delete(id) }
}

function renderEvents (v) {
  const evs = [...v.events].sort((a, b) => b.at - a.at).slice(0, 50)
  const key = JSON.stringify(evs)
  if (key === lastEventsKey) return
  lastEventsKey = key
  eventsEl.replaceChildren(...evs.map((e) => {
    const li = el('li', 'ev ev-' + e.kind)
    const t = el('time', null, clock(e.at)); t.dateTime = new Date(e.at).toISOString()
    li.append(t, el('span', 'kind', e.kind), el('span', 'text', e.text))
    return li
  }))
  if (evs.length === 0) eventsEl.append(el('li', 'empty', 'nothing yet'))
}

function announce (v) {
  // Screen readers hear state changes only, not every redraw.
  const said = []
  for (const c of v.cells) {
    const before = seenStates.get(c.id)
    if (before && before !== c.state) said.push('cell ' + c.name + ' is now ' + c.state)
    seenStates.set(c.id, c.state)
  }
  if (said.length) announceEl.textContent = said.join('. ')
}

function render (v) {
  lastViewAt = v.at
  titleEl.textContent = v.organism
  zoneEl.textContent = v.zone
  document.title = v.organism + ' \u2014 organism map'
  const n = { alive: 0, suspect: 0, dead: 0 }
  let fns = 0
  for (const c of v.cells) { n[c.state] = (n[c.state] || 0) + 1; fns += c.functions.length }
  const parts = [v.cells.length + (v.cells.length === 1 ? ' cell' : ' cells'), n.alive + ' alive']
  if (n.suspect) parts.push(n.suspect + ' suspect')
  if (n.dead) parts.push(n.dead + ' dead')
  parts.push(fns + (fns === 1 ? ' function' : ' functions'))
  summaryEl.textContent = parts.join(' \u00B7 ')
  remember(v)
  drawPicture(v)
  renderCells(v)
  renderEvents(v)
  announce(v)
  tick()
}

// The picture: every cell a box with its functions (a sparkline of req/s each), arrows for moves and forwards.
const SVG = 'http://www.w3.org/2000/svg'
const pictureEl = $('picture'), pictureTitle = $('picture-title')
const rates = new Map() // function name -> its last req/s figures, one per view
const SPARK = 40, NODE_W = 190, ROW_H = 22, HEAD_H = 34
function sv (tag, attrs, text) {
  const e = document.createElementNS(SVG, tag)
  for (const k in attrs) e.setAttribute(k, String(attrs[k]))
  if (text != null) e.textContent = String(text)
  return e
}
function remember (v) {
  const seen = new Set()
  for (const c of v.cells) for (const f of c.functions) {
    const h = rates.get(f.name) || []
    h.push(f.requestsPerSecond)
    if (h.length > SPARK) h.shift()
    rates.set(f.name, h)
    seen.add(f.name)
  }
  for (const k of [...rates.keys()]) if (!seen.has(k)) rates.delete(k)
}
function spark (h, x, y, w, ht) {
  const max = Math.max(1, ...h)
  const pts = h.map((r, i) => (x + (h.length === 1 ? w : i * w / (SPARK - 1))).toFixed(1) + ',' + (y + ht - r / max * ht).toFixed(1))
  const line = sv('polyline', { class: 'spark', points: pts.join(' ') })
  line.dataset.points = String(h.length)
  return line
}
// Where the segment from a box's centre towards (tx, ty) leaves the box.
function edge (b, tx, ty) {
  const cx = b.x + b.w / 2, cy = b.y + b.h / 2, dx = tx - cx, dy = ty - cy
  if (dx === 0 && dy === 0) return { x: cx, y: cy }
  const s = Math.min(Math.abs((b.w / 2 + 4) / (dx || 1e-9)), Math.abs((b.h / 2 + 4) / (dy || 1e-9)))
  return { x: cx + dx * s, y: cy + dy * s }
}
function drawPicture (v) {
  const cells = [...v.cells].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
  const n = cells.length
  const heights = cells.map((c) => HEAD_H + Math.max(1, c.functions.length) * ROW_H + 8)
  const tallest = Math.max(60, ...heights)
  // One or two side by side; more around a circle (every pair then has a clear line between them), wide enough that
  // the boxes do not touch.
  const R = n <= 2 ? 0 : Math.max(170 + tallest / 2, (NODE_W + 60) * n / (2 * Math.PI))
  const boxes = new Map()
  cells.forEach((c, i) => {
    const h = heights[i]
    let cx, cy
    if (n <= 2) { cx = i * (NODE_W + 160); cy = tallest / 2 } else {
      const a = -Math.PI / 2 + 2 * Math.PI * i / n
      cx = R * Math.cos(a); cy = R * Math.sin(a)
    }
    boxes.set(c.id, { x: cx - NODE_W / 2, y: cy - h / 2, w: NODE_W, h })
  })
  const all = [...boxes.values()]
  const minX = Math.min(0, ...all.map((b) => b.x)) - 30, minY = Math.min(0, ...all.map((b) => b.y)) - 30
  const maxX = Math.max(1, ...all.map((b) => b.x + b.w)) + 30, maxY = Math.max(1, ...all.map((b) => b.y + b.h)) + 30
  pictureEl.setAttribute('viewBox', [minX, minY, maxX - minX, maxY - minY].map((x) => x.toFixed(0)).join(' '))
  const defs = sv('defs')
  for (const k of ['move', 'forward']) {
    const m = sv('marker', { id: 'head-' + k, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' })
    m.append(sv('path', { d: 'M0,0 L10,5 L0,10 z', class: 'head-' + k }))
    defs.append(m)
  }
  const layer = sv('g', { class: 'cells-layer' })
  for (const c of cells) {
    const b = boxes.get(c.id)
    const g = sv('g', { class: 'node st-' + c.state, transform: 'translate(' + b.x.toFixed(1) + ' ' + b.y.toFixed(1) + ')' })
    g.dataset.cell = c.id
    g.dataset.state = c.state
    g.append(sv('title', {}, 'cell ' + c.name + ', ' + c.state))
    g.append(sv('rect', { class: 'box', width: b.w, height: b.h, rx: 10 }))
    g.append(sv('text', { x: 12, y: 21 }, c.name + (c.id === v.self ? ' (this cell)' : '')))
    g.append(sv('text', { class: 'state', x: b.w - 12, y: 21, 'text-anchor': 'end' }, (cellMarks[c.state] || '?') + ' ' + c.state))
    const fns = [...c.functions].sort((x, y) => x.name.localeCompare(y.name))
    if (fns.length === 0) g.append(sv('text', { class: 'state', x: 12, y: HEAD_H + 14 }, 'no functions'))
    fns.forEach((f, i) => {
      const y = HEAD_H + i * ROW_H
      const chip = sv('g', { class: 'chip' + (f.state === 'moving' ? ' moving' : '') })
      chip.dataset.fn = f.name
      chip.append(sv('rect', { x: 6, y, width: b.w - 12, height: ROW_H - 3, rx: 5 }))
      chip.append(sv('text', { x: 12, y: y + 14 }, f.name))
      chip.append(spark(rates.get(f.name) || [f.requestsPerSecond], 84, y + 3, 56, ROW_H - 9))
      chip.append(sv('text', { class: 'rate', x: b.w - 12, y: y + 14, 'text-anchor': 'end' }, rate(f.requestsPerSecond) + '/s'))
      g.append(chip)
    })
    layer.append(g)
  }
  const arrows = sv('g', { class: 'flows-layer' })
  const flows = (v.flows || []).filter((f) => boxes.has(f.from) && boxes.has(f.to) && f.from !== f.to)
  // Several arrows between the same two cells fan out instead of lying on top of each other.
  const pairs = new Map()
  for (const f of flows) {
    const a = boxes.get(f.from), z = boxes.get(f.to)
    const key = [f.from, f.to].sort().join(' ')
    const k = pairs.get(key) || 0
    pairs.set(key, k + 1)
    const ac = { x: a.x + a.w / 2, y: a.y + a.h / 2 }, zc = { x: z.x + z.w / 2, y: z.y + z.h / 2 }
    const p0 = edge(a, zc.x, zc.y), p1 = edge(z, ac.x, ac.y)
    const mx = (p0.x + p1.x) / 2, my = (p0.y + p1.y) / 2, len = Math.hypot(p1.x - p0.x, p1.y - p0.y) || 1
    const bend = (f.from < f.to ? 1 : -1) * (28 + 22 * k)
    const qx = mx - (p1.y - p0.y) / len * bend, qy = my + (p1.x - p0.x) / len * bend
    const path = sv('path', { class: 'flow k-' + f.kind, d: 'M' + p0.x.toFixed(1) + ',' + p0.y.toFixed(1) + ' Q' + qx.toFixed(1) + ',' + qy.toFixed(1) + ' ' + p1.x.toFixed(1) + ',' + p1.y.toFixed(1), 'marker-end': 'url(#head-' + (f.kind === 'forward' ? 'forward' : 'move') + ')' })
    path.dataset.kind = f.kind
    path.dataset.fn = f.fn
    const label = f.kind === 'forward' ? f.fn + ' ' + rate(f.requestsPerSecond || 0) + '/s' : f.fn + (f.kind === 'moving' ? ' moving' : ' moved')
    path.append(sv('title', {}, label))
    // The label sits on the curve's middle (a quadratic's point at t = 1/2).
    const lx = (p0.x + 2 * qx + p1.x) / 4, ly = (p0.y + 2 * qy + p1.y) / 4 + 4
    arrows.append(path, sv('text', { class: 'flow-label k-' + f.kind, x: lx.toFixed(1), y: ly.toFixed(1), 'text-anchor': 'middle' }, label))
  }
  pictureTitle.textContent = 'the organism: ' + n + (n === 1 ? ' cell' : ' cells') + ', ' + flows.length + (flows.length === 1 ? ' arrow' : ' arrows')
  pictureEl.replaceChildren(pictureTitle, defs, layer, arrows)
}

function setConn (state, text) { connEl.dataset.state = state; connEl.lastChild.textContent = text }
function tick () { if (lastViewAt) updatedEl.textContent = 'updated ' + ago(lastViewAt) }

function connect () {
  source = new EventSource('events') // relative: works wherever the cell mounts the page
  source.addEventListener('view', (m) => {
    retryDelay = 1000
    setConn('live', 'live')
    try { render(JSON.parse(m.data)) } catch (err) { console.error('bad view', err) }
  })
  source.onopen = () => setConn('live', 'live')
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      // The browser gives up on a non-200 answer (e.g. 503 when full); keep trying, more slowly each time.
      setConn('down', 'offline \u2014 retrying')
      source.close()
      setTimeout(connect, retryDelay)
      retryDelay = Math.min(retryDelay * 2, 30000)
    } else setConn('retry', 'reconnecting\u2026')
  }
}
setInterval(tick, 1000)
connect()
`
