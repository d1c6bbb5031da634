import { mkdirSync, readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import { join } from 'node:path'
import { launchChromium } from '@dataverse-s2s/test-browser'
import type { Browser, Page } from 'playwright-core'
import type { DefaultTheme } from 'vitepress'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { docsDir, ensureBuilt, expectedCodeBlocks, serveSite } from './site.ts'

const resultsDir = join(docsDir, 'test-results')

// Read after ensureBuilt: the reference's part of the sidebar is a file the build writes, and a fresh clone has none.
let sidebar: DefaultTheme.SidebarItem[] = []

function sidebarLinks(items = sidebar): string[] {
  return items.flatMap((item) => [...(item.link ? [item.link] : []), ...sidebarLinks(item.items ?? [])])
}

/** A page of one exported symbol: its sidebar entry sits in a collapsed group of its package. */
function isSymbolPage(link: string): boolean {
  return /^\/reference\/api\/[^/]+\/.+/.test(link)
}

function sourceOf(link: string): string {
  const path = link.endsWith('/') ? `${link}index.md` : `${link}.md`
  return readFileSync(join(docsDir, path), 'utf8')
}

function pageUrl(base: string, link: string): string {
  return link.endsWith('/') ? `${base}${link}` : `${base}${link}.html`
}

let server: Server
let base: string
let browser: Browser
let page: Page
const consoleErrors: string[] = []
const outsideRequests: string[] = []

beforeAll(async () => {
  // The site is built here when it is missing or older than any source (a fresh clone has none, and turbo's
  // build task does not keep .vitepress/dist as an output).
  ensureBuilt()
  sidebar = (await import('../.vitepress/sidebar.ts')).sidebar
  mkdirSync(resultsDir, { recursive: true })
  const site = await serveSite()
  server = site.server
  base = site.url
  browser = await launchChromium()
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1360, height: 900 },
  })
  page = await context.newPage()
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`${page.url()}: ${message.text()}`)
  })
  page.on('request', (request) => {
    if (!request.url().startsWith(base) && !request.url().startsWith('data:'))
      outsideRequests.push(request.url())
  })
}, 300_000)

afterAll(async () => {
  await browser?.close()
  await new Promise((done) => server?.close(done))
})

describe('the built documentation site', () => {
  it('renders the home page with its hero and links into the docs', async () => {
    await page.goto(`${base}/`)
    await expect.poll(() => page.locator('.VPHero .name').textContent()).toContain('Dataverse S2S')
    expect(await page.title()).toContain('Dataverse S2S')
    await expect.poll(() => page.locator('.VPFeature').count()).toBeGreaterThanOrEqual(4)
    await page.screenshot({ path: join(resultsDir, 'home.png'), fullPage: true })
  })

  it('lists every page of the sidebar configuration in the rendered sidebar', async () => {
    await page.goto(pageUrl(base, '/start/'))
    await page.locator('.VPSidebar').waitFor()
    const rendered = await page
      .locator('.VPSidebar a.VPLink')
      .evaluateAll((links) => links.map((a) => new URL((a as HTMLAnchorElement).href).pathname))
    const expected = sidebarLinks().map((link) => (link.endsWith('/') ? link : `${link}.html`))
    expect(rendered).toEqual(expected)
  })

  it('walks the sidebar: every page renders its title and all of its code blocks', async () => {
    // The symbol pages of the reference (hundreds, in collapsed groups) are opened by the next test.
    const links = sidebarLinks().filter((link) => !isSymbolPage(link))
    expect(links.length).toBeGreaterThan(2)
    for (const link of links) {
      // Navigate by clicking the sidebar entry, as a reader would.
      await page.locator(`.VPSidebar a.VPLink[href="${link.endsWith('/') ? link : `${link}.html`}"]`).click()
      await page.waitForURL((url) => url.pathname === (link.endsWith('/') ? link : `${link}.html`))
      const source = sourceOf(link)
      const title = /^# (.+)$/m.exec(source)?.[1]?.replace(/`/g, '').trim()
      expect(title, `${link} has a # title in its markdown`).toBeTruthy()
      const h1 = page.locator('.vp-doc h1').first()
      const headingText = () =>
        h1.evaluate((el) => {
          const copy = el.cloneNode(true) as HTMLElement
          for (const anchor of copy.querySelectorAll('.header-anchor')) anchor.remove()
          return (copy.textContent ?? '').replace(/\u200b/g, '').trim()
        })
      // The router swaps the content after the URL changes: wait until this page's own title is on screen.
      await expect.poll(headingText, { message: link }).toBe(title)
      await expect.poll(() => page.title(), { message: link }).toBe(`${title} | Dataverse S2S`)
      expect(await page.locator('.NotFound').count(), link).toBe(0)

      const expectedBlocks = expectedCodeBlocks(source)
      const blocks = page.locator('.vp-doc div[class*="language-"] pre code')
      expect(await blocks.count(), `code blocks on ${link}`).toBe(expectedBlocks)
      for (const text of await blocks.allInnerTexts()) {
        expect(text.trim(), `an empty code block on ${link}`).not.toBe('')
        expect(text, `a region marker leaked on ${link}`).not.toMatch(/#(end)?region/)
      }
    }
  })

  it("opens a symbol page from each package's index: its title, code blocks and its sidebar entry show", async () => {
    const packages = sidebarLinks().filter((link) => /^\/reference\/api\/[^/]+\/$/.test(link))
    expect(packages.length).toBeGreaterThanOrEqual(6)
    for (const link of packages) {
      await page.goto(pageUrl(base, link))
      const first = page.locator('.vp-doc table a').first()
      const href = new URL((await first.getAttribute('href')) ?? '', `${base}${link}`).pathname
      await first.click()
      await page.waitForURL((url) => url.pathname === href)
      const symbolLink = href.replace(/\.html$/, '')
      expect(sidebarLinks(), `${symbolLink} is in the sidebar`).toContain(symbolLink)
      const source = sourceOf(symbolLink)
      const title = /^# (.+)$/m.exec(source)?.[1]?.trim() ?? ''
      await expect
        .poll(() => page.locator('.vp-doc h1').first().textContent(), { message: href })
        .toContain(title)
      const blocks = page.locator('.vp-doc div[class*="language-"] pre code')
      expect(await blocks.count(), `code blocks on ${href}`).toBe(expectedCodeBlocks(source))
      // The group of the page's package opens by itself, so its entry is visible.
      await expect
        .poll(() => page.locator(`.VPSidebar a.VPLink[href="${href}"]`).isVisible(), { message: href })
        .toBe(true)
    }
  })

  it('finds AADSTS700016 with the local search and leads to its troubleshooting entry', async () => {
    await page.goto(`${base}/`)
    await page.locator('.VPNavBarSearch button').click()
    const input = page.locator('.VPLocalSearchBox input')
    await input.fill('AADSTS700016')
    const first = page.locator('.VPLocalSearchBox .result').first()
    await first.waitFor()
    expect(await first.getAttribute('href')).toContain('/troubleshooting/entra-errors')
    await first.click()
    await page.waitForURL(/troubleshooting\/entra-errors/)
    // The URL changes before the page content is swapped, so the content is polled.
    await expect
      .poll(() => page.locator('.vp-doc').textContent(), { timeout: 10_000 })
      .toContain('AADSTS700016')
  })

  it('screenshots the multi-tenant walkthrough', async () => {
    await page.goto(pageUrl(base, '/walkthroughs/multi-tenant'))
    await page.locator('.vp-doc h1').waitFor()
    await page.screenshot({ path: join(resultsDir, 'walkthrough-multi-tenant.png'), fullPage: false })
  })

  it('stayed on loopback and logged no errors in the browser', () => {
    expect(outsideRequests).toEqual([])
    expect(consoleErrors).toEqual([])
  })
})
