// Headless Chromium (Debian's /usr/bin/chromium via playwright-core) for tests of the live map.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import type { BrowserContext, Page } from 'playwright-core'

export const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium'
export const outDir = new URL('../../test-output/', import.meta.url).pathname
// The network here is closed: without these, Chromium's own background connections fail noisily or stall.
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']

/** Chromium on a fresh profile (playwright passes it as --user-data-dir), closed and removed after the test. */
export async function launch (t: { after: (fn: () => Promise<void>) => void }): Promise<BrowserContext> {
  const profile = await mkdtemp(join(tmpdir(), 'organism-chromium-'))
  let context: BrowserContext | undefined
  // One hook, in this order: the profile can only be removed once Chromium has stopped writing to it.
  t.after(async () => {
    try { await context?.close() } finally { await rm(profile, { recursive: true, force: true, maxRetries: 5 }) }
  })
  context = await chromium.launchPersistentContext(profile, { executablePath, args, timeout: 30_000, viewport: { width: 1280, height: 820 } })
  return context
}

/** Page state as the user reads it: each card's name, state badge text, and function names. */
export async function cellsOnPage (page: Page): Promise<Array<{ name: string, state: string, badge: string, functions: string[] }>> {
  return await page.$$eval('article.cell', (cards) => cards.map((c) => ({
    name: (c.querySelector('h2')?.firstChild?.textContent ?? '').trim(),
    state: c.getAttribute('data-state') ?? '',
    // The word, not the symbol (the symbol is aria-hidden).
    badge: (c.querySelector('.cell-head .badge span:last-child')?.textContent ?? '').trim(),
    functions: [...c.querySelectorAll('.fn-name')].map((f) => f.textContent ?? '')
  })))
}

