import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { launchChromium } from '@dataverse-s2s/test-browser'
import type { Browser, Page } from 'playwright-core'
import { build } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appId, ids, startTestApp } from './helpers.ts'

const appDir = fileURLToPath(new URL('..', import.meta.url))
const shots = fileURLToPath(new URL('../test-results/', import.meta.url))
let t: Awaited<ReturnType<typeof startTestApp>>
let browser: Browser
let page: Page
let step = 0

async function shot(name: string) {
  step += 1
  await page.screenshot({ path: `${shots}${String(step).padStart(2, '0')}-${name}.png`, fullPage: true })
}

/** On the emulator's sign-in page, pick the account (the page lists the tenant's users). */
async function pickAccount(upn: string) {
  await page.waitForSelector(`button[data-upn="${upn}"]`, { timeout: 20_000 })
  await page.click(`button[data-upn="${upn}"]`)
}

async function signInAs(upn: string) {
  await page.click('header button:has-text("Sign in")')
  await pickAccount(upn)
  await page.waitForSelector('#who', { timeout: 20_000 })
}

async function signOut() {
  await page.click('header button:has-text("Sign out")')
  await page.waitForURL((u) => u.origin === t.running.url, { timeout: 20_000 }).catch(() => undefined)
  if (!page.url().startsWith(t.running.url)) await page.goto(t.running.url)
  await page.waitForSelector('header button:has-text("Sign in")', { timeout: 20_000 })
}

/** The consent page, when the emulator shows one (it does not once the tenant consented). */
async function acceptConsent() {
  const next = await Promise.race([
    page.waitForSelector('button[value=accept]', { timeout: 20_000 }).then(() => 'consent'),
    page.waitForURL((u) => u.origin === t.running.url, { timeout: 20_000 }).then(() => 'back'),
  ])
  if (next === 'consent') await page.click('button[value=accept]')
}

/** The actions of the connection page's event log, newest first. */
async function eventActions(): Promise<string[]> {
  await page.waitForSelector('table[aria-label="Event log"]')
  return page.$$eval('table[aria-label="Event log"] tbody tr', (rows) =>
    rows.map((r) => r.getAttribute('data-action') ?? ''),
  )
}

async function accountNames(): Promise<string[]> {
  await page.waitForSelector('table[aria-label="Accounts"]', { timeout: 20_000 })
  return page.$$eval('table[aria-label="Accounts"] tbody tr td:first-child', (tds) =>
    tds.map((td) => td.textContent ?? ''),
  )
}

beforeAll(async () => {
  mkdirSync(shots, { recursive: true })
  await build({ configFile: `${appDir}vite.config.ts`, logLevel: 'warn' })
  t = await startTestApp({ listen: true, staticRoot: `${appDir}dist` })
  // The emulator registers the sample's redirect URIs on port 5173; this run listens on a random port.
  const registration = t.emulator.world.getApp(appId)
  registration?.redirectUris.spa.push(t.running.url)
  registration?.redirectUris.web.push(`${t.running.url}/onboarding/callback`)
  browser = await launchChromium()
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1100, height: 800 },
  })
  page = await context.newPage()
  page.on('dialog', (d) => void d.accept())
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await t?.running.stop()
})

describe('the multi-tenant sample in Chromium', () => {
  it('onboards Fabrikam as its admin (event log, offboard, reconnect), serves its data to its users, impersonates, and keeps Contoso’s users on Contoso’s data', async () => {
    const fabrikamOrg = t.org(ids.fabrikamTenantId).url
    await page.goto(t.running.url)
    await page.waitForSelector('text=Connect your organization')
    // On the emulator the home page tells a newcomer which seeded accounts to try.
    await page.waitForSelector('text=Running on the local emulator')
    expect(await page.textContent('#view')).toContain('carol@fabrikam.onmicrosoft.com')
    await shot('home')

    // Onboarding as Fabrikam's admin, who signs in first: sign-in → org URL → admin consent → ticket → set-up.
    await page.click('header a:has-text("Connect your organization")')
    await page.click('button:has-text("Sign in as administrator")')
    await pickAccount('admin@fabrikam.onmicrosoft.com')
    await acceptConsent() // signing in to an app new to the tenant asks the admin's consent for sign-in
    await page.waitForSelector('input[name=orgUrl]', { timeout: 20_000 })
    // The admin's environments come from the Global Discovery Service: picking one fills the org URL.
    await page.waitForSelector(`button.environment[data-url="${fabrikamOrg}"]`, { timeout: 20_000 })
    expect(await page.locator('button.environment').count()).toBe(1) // only Fabrikam's tenant's orgs
    // IsUserSysAdmin: the seeded Fabrikam admin holds System Administrator in that org
    expect(await page.locator('.environments li .role').textContent()).toBe(
      ' you are a System Administrator here',
    )
    await page.click(`button.environment[data-url="${fabrikamOrg}"]`)
    expect(await page.inputValue('input[name=orgUrl]')).toBe(fabrikamOrg)
    await shot('connect')
    await page.click('button:has-text("Continue to admin consent")')
    await page.waitForSelector('button[value=accept]', { timeout: 20_000 })
    await shot('admin-consent')
    await page.click('button[value=accept]')
    await page.waitForSelector('#provision', { timeout: 20_000 })
    expect(page.url()).not.toContain('ticket=') // the ticket is used once and dropped from the address
    expect((await t.running.registry.get(ids.fabrikamTenantId))?.status).toBe('consented')
    await shot('finish-set-up')
    await page.click('#provision')
    await page.waitForSelector('.ok:has-text("Connected")', { timeout: 30_000 })
    await shot('connected')
    expect((await t.running.registry.get(ids.fabrikamTenantId))?.status).toBe('verified')

    // Tenant admin: the connection's status, its event log, a re-verification.
    await page.click('a:has-text("Open your accounts")')
    await page.waitForSelector('header a:has-text("Connection")')
    await page.click('header a:has-text("Connection")')
    await page.waitForSelector('[data-field=Status]')
    expect(await page.textContent('[data-field=Status]')).toBe('verified')
    expect(await eventActions()).toEqual(['verified', 'provisioned', 'connected'])
    expect(await page.textContent('table[aria-label="Event log"] tbody tr:last-child')).toContain(
      'Nestor Wilke',
    )
    await page.click('#reverify')
    await page.waitForSelector('.ok:has-text("application user")')
    await shot('connection-admin')

    // Offboarding (confirmed in a dialog), then reconnecting through the explicit admin action.
    await page.click('#offboard')
    await page.waitForSelector('#reconnect', { timeout: 20_000 })
    expect(await page.textContent('[data-field=Status]')).toBe('offboarded')
    expect((await eventActions())[0]).toBe('offboarded')
    await shot('offboarded')
    await page.click('#reconnect')
    await page.waitForSelector('button[value=accept]', { timeout: 20_000 })
    await page.click('button[value=accept]')
    await page.waitForSelector('#provision', { timeout: 20_000 })
    await page.click('#verify')
    await page.waitForSelector('.ok:has-text("Connected")', { timeout: 30_000 })
    await page.click('a:has-text("Open your accounts")')
    await page.waitForSelector('header a:has-text("Connection")')
    await page.click('header a:has-text("Connection")')
    await page.waitForSelector('#reverify')
    expect(await page.textContent('[data-field=Status]')).toBe('verified')
    expect((await eventActions()).slice(0, 3)).toEqual(['verified', 'reconnected', 'offboarded'])
    await shot('reconnected')
    await signOut()

    // A Fabrikam user: list, create, edit, delete an account.
    await signInAs('carol@fabrikam.onmicrosoft.com')
    const fabrikamNames = await accountNames()
    expect(fabrikamNames.length).toBeGreaterThan(0)
    await shot('fabrikam-accounts')
    await page.click('button:has-text("New")')
    await page.fill('input[name=name]', 'Browser Test Ltd')
    await page.fill('input[name=address1_city]', 'Lille')
    await page.click('button:has-text("Create")')
    await page.waitForSelector('h1:has-text("Browser Test Ltd")')
    await shot('account-created')
    await page.click('a:has-text("← Accounts")')
    await page.fill('input[name=search]', 'Browser Test')
    await page.click('button:has-text("Search")')
    await page.waitForFunction(
      () => document.querySelectorAll('table[aria-label="Accounts"] tbody tr').length === 1,
    )
    expect(await accountNames()).toEqual(['Browser Test Ltd'])
    await shot('account-search')
    await page.click('table[aria-label="Accounts"] tbody tr')
    await page.waitForSelector('h1:has-text("Browser Test Ltd")')
    await page.fill('input[name=name]', 'Browser Test Renamed')
    await page.click('button:has-text("Save")')
    await page.waitForSelector('.ok:has-text("Saved")')
    await shot('account-edited')
    await page.click('button:has-text("Delete")')
    await page.waitForSelector('table[aria-label="Accounts"]')
    expect(await accountNames()).not.toContain('Browser Test Renamed')
    await shot('account-deleted')

    // Impersonation on: the new account is created as Carol herself.
    await page.check('#act-as-me')
    await page.click('button:has-text("New")')
    await page.fill('input[name=name]', 'Created As Carol')
    await page.click('button:has-text("Create")')
    await page.waitForSelector('h1:has-text("Created As Carol")')
    expect(await page.textContent('[data-field=createdby]')).toBe('Carol Clark')
    expect(await page.textContent('[data-field=createdonbehalfby]')).not.toBe('—')
    await shot('impersonation-on')
    await page.uncheck('#act-as-me')
    await signOut()

    // A Contoso user sees Contoso's accounts only.
    await signInAs('alice@contoso.onmicrosoft.com')
    const contosoNames = await accountNames()
    await shot('contoso-accounts')
    const contosoRows = await t.running.services.clients
      .get(ids.contosoTenantId, t.org(ids.contosoTenantId).url)
      .query<{ name: string }>('accounts', { select: ['name'] })
    const contosoAll = new Set(contosoRows.value.map((r) => r.name))
    expect(contosoNames.length).toBeGreaterThan(0)
    for (const name of contosoNames) expect(contosoAll.has(name)).toBe(true)
    expect(contosoNames).not.toContain('Created As Carol')
  }, 240_000) // some sixty browser steps and fifteen screenshots on a loaded 2-core runner

  it('a crafted consent-result link cannot put the attacker’s text on the onboarding page', async () => {
    const lure = 'Your tenant is locked: call +1 555 0100 with your password'
    await page.goto(`${t.running.url}/#/onboarding?error=CONSENT_DENIED&message=${encodeURIComponent(lure)}`)
    await page.waitForSelector('text=Start again')
    const text = (await page.textContent('#view')) ?? ''
    expect(text).not.toContain('call +1 555 0100')
    expect(text).toContain('declined the consent')
    await page.goto(`${t.running.url}/#/onboarding?error=${encodeURIComponent(lure)}`)
    await page.reload()
    await page.waitForSelector('text=Start again')
    expect(await page.textContent('#view')).not.toContain('call +1 555 0100')
  })
})
