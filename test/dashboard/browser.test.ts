// The page in real headless Chromium (Debian's /usr/bin/chromium via playwright-core): live updates without reload.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createDashboard } from '../../src/dashboard/index.ts'
import { fakeOrganism } from './fixture.ts'
import { serve } from './helpers.ts'

import { launch, cellsOnPage, executablePath, outDir } from '../helpers/browser.ts'

test('the live map shows the organism and follows deaths and moves without a reload', { skip: !existsSync(executablePath) && `no Chromium at ${executablePath} (apt-get install chromium)` }, async (t) => {
  await mkdir(outDir, { recursive: true })
  const org = fakeOrganism()
  const srv = await serve(createDashboard({ view: org.snapshot, changes: org.changes, pushIntervalMs: 1000, basePath: '/_organism/' }))
  t.after(srv.close)
  const browser = await launch(t)
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
  let loads = 0
  page.on('load', () => { loads++ })

  await page.goto(srv.url + '/_organism/')
  await page.waitForSelector('article.cell >> nth=2', { timeout: 5000 })
  assert.deepEqual(await cellsOnPage(page), [
    { name: 'alpha', state: 'alive', badge: 'alive', functions: ['forum', 'quiz'] },
    { name: 'beta', state: 'alive', badge: 'alive', functions: ['calendar', 'grades'] },
    { name: 'gamma', state: 'alive', badge: 'alive', functions: ['library'] }
  ])
  assert.equal(await page.textContent('#conn'), 'live')
  assert.match(await page.textContent('#summary') ?? '', /^3 cells · 3 alive · 5 functions$/)

  // A cell dies: the page must say so in words, not only by colour, within a bounded wait.
  const diedAt = Date.now()
  org.cell('beta').state = 'dead'
  org.view.events.push({ at: Date.now(), kind: 'dead', text: 'beta declared dead (no answer to direct and indirect probes)' })
  org.changed()
  await page.waitForSelector('article.cell[data-state="dead"]', { timeout: 3000 })
  const waited = Date.now() - diedAt
  const beta = (await cellsOnPage(page)).find((c) => c.name === 'beta')
  assert.deepEqual(beta, { name: 'beta', state: 'dead', badge: 'dead', functions: ['calendar', 'grades'] })
  assert.equal(await page.getAttribute('article.cell[data-state="dead"]', 'aria-label'), 'cell beta, dead')
  assert.match(await page.textContent('#events li:first-child') ?? '', /dead.*beta declared dead/)
  assert.match(await page.textContent('#announce') ?? '', /cell beta is now dead/)
  assert.match(await page.textContent('article.cell[data-state="dead"] .note') ?? '', /Not answering/)
  assert.match(await page.textContent('#summary') ?? '', /^3 cells · 2 alive · 1 dead · 5 functions$/)

  // A function on the move is drawn as moving, then appears under its new owner.
  const quiz = org.cell('alpha').functions.find((f) => f.name === 'quiz')!
  quiz.state = 'moving'
  org.view.events.push({ at: Date.now(), kind: 'move', text: 'quiz moving alpha → gamma' })
  org.changed()
  await page.waitForSelector('article[data-cell] li.fn.moving[data-fn="quiz"]', { timeout: 3000 })
  assert.equal(await page.textContent('li.fn.moving .badge span:last-child'), 'moving')
  await page.screenshot({ path: join(outDir, 'dashboard-moving.png'), fullPage: true })

  org.cell('alpha').functions = org.cell('alpha').functions.filter((f) => f.name !== 'quiz')
  org.cell('gamma').functions.push({ ...quiz, state: 'running', epoch: quiz.epoch + 1 })
  org.view.events.push({ at: Date.now(), kind: 'move', text: 'quiz moved to gamma (epoch 2)' })
  org.changed()
  await page.waitForSelector('article.cell:nth-child(3) li.fn[data-fn="quiz"]', { timeout: 3000 })
  const after = await cellsOnPage(page)
  assert.deepEqual(after.map((c) => [c.name, c.functions]), [['alpha', ['forum']], ['beta', ['calendar', 'grades']], ['gamma', ['library', 'quiz']]])
  assert.match(await page.textContent('article.cell:nth-child(3) li.fn[data-fn="quiz"]') ?? '', /epoch 2/)

  assert.equal(loads, 1, 'updates arrived without a reload')
  assert.deepEqual(errors, [])
  await page.screenshot({ path: join(outDir, 'dashboard-desktop.png'), fullPage: true })
  await page.emulateMedia({ colorScheme: 'dark' })
  await page.screenshot({ path: join(outDir, 'dashboard-dark.png'), fullPage: true })
  await page.emulateMedia({ colorScheme: 'light' })
  await page.setViewportSize({ width: 390, height: 844 })
  await page.screenshot({ path: join(outDir, 'dashboard-phone.png'), fullPage: true })
  // A string, because the project's types do not include the DOM.
  const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth') as number
  assert.ok(overflow <= 0, `no sideways scrolling on a phone (overflow ${overflow}px)`)
  t.diagnostic(`dead shown after ${waited} ms; screenshots in ${outDir}`)
})

test('the page survives a dropped stream: says so in words, reconnects, and keeps updating', { skip: !existsSync(executablePath) && `no Chromium at ${executablePath}` }, async (t) => {
  const org = fakeOrganism()
  const srv = await serve(createDashboard({ view: org.snapshot, changes: org.changes, pushIntervalMs: 60_000, retryMs: 1500 }))
  t.after(srv.close)
  const page = await (await launch(t)).newPage()
  await page.goto(srv.url + '/')
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 5000 })
  srv.cut()
  await page.waitForSelector('#conn[data-state="retry"]', { timeout: 1000 })
  assert.equal(await page.textContent('#conn'), 'reconnecting…')
  org.cell('gamma').state = 'suspect'
  org.changed()
  await page.waitForSelector('article.cell[data-state="suspect"]', { timeout: 5000 })
  assert.equal(await page.textContent('#conn'), 'live')
  assert.match(await page.textContent('article.cell[data-state="suspect"] .note') ?? '', /other cells are checking/)
})

test('names from the organism are shown as text, never run as markup', { skip: !existsSync(executablePath) && `no Chromium at ${executablePath}` }, async (t) => {
  const org = fakeOrganism()
  const hostile = '<img src=x onerror="document.title=\'pwned\'">'
  org.cell('alpha').name = hostile
  org.view.events.push({ at: Date.now(), kind: 'info', text: '<script>document.title="pwned"</script>' })
  const srv = await serve(createDashboard({ view: org.snapshot }))
  t.after(srv.close)
  const page = await (await launch(t)).newPage()
  await page.goto(srv.url + '/')
  await page.waitForSelector('article.cell >> nth=2', { timeout: 5000 })
  assert.equal((await page.textContent('article.cell h2'))?.startsWith(hostile), true)
  assert.equal(await page.$$eval('img, #cells script, #events script', (els) => els.length), 0)
  assert.equal(await page.title(), 'campus-tools — organism map')
})

test('the picture: a box per cell with its functions, a req/s line each, arrows for a move under way, a finished move and forwards', { skip: !existsSync(executablePath) && `no Chromium at ${executablePath}` }, async (t) => {
  await mkdir(outDir, { recursive: true })
  const org = fakeOrganism()
  const [alpha, beta, gamma] = ['alpha', 'beta', 'gamma'].map((n) => org.cell(n))
  org.view.self = alpha.id
  const srv = await serve(createDashboard({ view: org.snapshot, changes: org.changes, pushIntervalMs: 60_000 }))
  t.after(srv.close)
  const page = await (await launch(t)).newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
  await page.goto(srv.url + '/')
  await page.waitForSelector('#picture g.node >> nth=2', { timeout: 5000 })
  const boxes = await page.$$eval('#picture g.node', (gs) => gs.map((g) => ({ state: g.getAttribute('data-state'), fns: [...g.querySelectorAll('g.chip')].map((c) => c.getAttribute('data-fn')) })))
  assert.deepEqual(boxes, [{ state: 'alive', fns: ['forum', 'quiz'] }, { state: 'alive', fns: ['calendar', 'grades'] }, { state: 'alive', fns: ['library'] }])
  assert.equal(await page.$$eval('#picture path.flow', (ps) => ps.length), 0, 'no arrows while nothing moves')

  // Traffic over several updates draws a line; quiz starts moving to gamma; alpha forwards grades to beta.
  for (const rps of [10, 30, 20, 45]) {
    alpha.functions.find((f) => f.name === 'quiz')!.requestsPerSecond = rps
    org.changed()
    // (The page's CSP forbids string evaluation, so the wait polls from here.)
    for (let i = 0; i < 60 && await page.textContent('#picture g.chip[data-fn="quiz"] text.rate') !== `${rps}/s`; i++) await page.waitForTimeout(50)
  }
  assert.equal(await page.getAttribute('#picture g.chip[data-fn="quiz"] polyline.spark', 'data-points'), '5')
  alpha.functions.find((f) => f.name === 'quiz')!.state = 'moving'
  org.view.flows = [
    { kind: 'moving', fn: 'quiz', from: alpha.id, to: gamma.id, at: Date.now() },
    { kind: 'move', fn: 'calendar', from: gamma.id, to: beta.id, at: Date.now() - 20_000 },
    { kind: 'forward', fn: 'grades', from: alpha.id, to: beta.id, at: Date.now(), requestsPerSecond: 12.5 }
  ]
  org.changed()
  await page.waitForSelector('#picture path.flow >> nth=2', { timeout: 3000 })
  const arrows = await page.$$eval('#picture path.flow', (ps) => ps.map((p) => `${p.getAttribute('data-kind')} ${p.getAttribute('data-fn')}: ${p.querySelector('title')?.textContent}`))
  assert.deepEqual(arrows, ['moving quiz: quiz moving', 'move calendar: calendar moved', 'forward grades: grades 12.5/s'])
  assert.match(await page.textContent('#picture-title') ?? '', /3 cells, 3 arrows/)
  // Every arrow is drawn between two boxes, not off in a corner.
  const inside = await page.$$eval('#picture path.flow', (ps) => ps.every((p) => { const b = (p as unknown as { getBBox: () => { width: number, height: number } }).getBBox(); return b.width > 20 || b.height > 20 }))
  assert.ok(inside)
  // An arrow naming a cell the page does not know (left the organism) is not drawn.
  org.view.flows.push({ kind: 'move', fn: 'library', from: 'gone', to: gamma.id, at: Date.now() })
  org.changed()
  await page.waitForTimeout(300)
  assert.equal(await page.$$eval('#picture path.flow', (ps) => ps.length), 3)
  const shot = join(outDir, 'dashboard-picture.png')
  await (await page.$('#picture-box'))!.screenshot({ path: shot })
  assert.deepEqual(errors, [])
  t.diagnostic(`picture of the organism: ${shot}`)
})
