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
  renderCells(v)
  renderEvents(v)
  announce(v)
  tick()
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
