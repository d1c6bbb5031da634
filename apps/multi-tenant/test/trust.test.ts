// The sample in a plain headless Chromium: no ignoreHTTPSErrors, no certificate flag, its own HOME (so its own NSS
// database, which the test creates and deletes: the machine's stores are not touched).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { trustEmulatorCa } from '@dataverse-s2s/emulator'
import { launchChromium } from '@dataverse-s2s/test-browser'
import type { Browser, Page } from 'playwright-core'
import { build } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appId, startTestApp } from './helpers.ts'

const appDir = fileURLToPath(new URL('..', import.meta.url))
const home = mkdtempSync(join(tmpdir(), 'multi-tenant-trust-home-'))
let t: Awaited<ReturnType<typeof startTestApp>>
const browsers: Browser[] = []

beforeAll(async () => {
  mkdirSync(join(home, '.pki'), { recursive: true })
  await build({ configFile: `${appDir}vite.config.ts`, logLevel: 'warn' })
  t = await startTestApp({ listen: true, staticRoot: `${appDir}dist` })
  const registration = t.emulator.world.getApp(appId)
  registration?.redirectUris.spa.push(t.running.url)
}, 240_000)

afterAll(async () => {
  for (const browser of browsers) await browser.close().catch(() => undefined)
  await t?.running.stop()
  rmSync(home, { recursive: true, force: true })
})

async function plainPage(): Promise<Page> {
  const browser = await launchChromium({ env: { ...process.env, HOME: home } })
  browsers.push(browser)
  const page = await browser.newPage()
  await page.goto(t.running.url)
  await page.waitForSelector('header button:has-text("Sign in")', { timeout: 20_000 })
  return page
}

describe('the emulator CA in a browser that does not ignore certificate errors', () => {
  it('shows the exact fix when Entra ID cannot be reached, then signs in once the CA is trusted', async () => {
    const untrusted = await plainPage()
    await untrusted.click('header button:has-text("Sign in")')
    await untrusted.waitForSelector('#authority-unreachable', { timeout: 20_000 })
    expect(await untrusted.textContent('#trust-command')).toBe(
      'pnpm emulator trust --state apps/multi-tenant/.data/emulator',
    )
    expect(await untrusted.textContent('#authority-unreachable')).toContain(t.emulator.url)

    trustEmulatorCa({ caCertPem: t.emulator.caCertPem, nssDb: join(home, '.pki', 'nssdb'), system: false })
    const trusted = await plainPage()
    await trusted.click('header button:has-text("Sign in")')
    await trusted.waitForSelector('button[data-upn="alice@contoso.onmicrosoft.com"]', { timeout: 20_000 })
    await trusted.click('button[data-upn="alice@contoso.onmicrosoft.com"]')
    await trusted.waitForSelector('#who', { timeout: 20_000 })
    expect(await trusted.$('#authority-unreachable')).toBeNull()
  }, 120_000)
})
