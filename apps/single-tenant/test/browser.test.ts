import type { AddressInfo } from 'node:net'
import { defaultIds } from '@dataverse-s2s/emulator'
import { launchChromium } from '@dataverse-s2s/test-browser'
import { type ServerType, serve } from '@hono/node-server'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, type Harness, startHarness, swapIdToken } from './support.ts'

let h: Harness
let browser: Browser
let appUrl: string
const servers: ServerType[] = []

/**
 * Listens on a port of its own at once and takes the app later: the app's URL is needed to start the harness (its
 * redirect URI), and probing a free port then binding it again could lose the port to another test meanwhile.
 */
async function listen(): Promise<{ url: string; serve: (app: { fetch: Handler }) => void }> {
  let handler: Handler = () => new Response('starting', { status: 503 })
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: (request) => handler(request), port: 0, hostname: 'localhost' }, () =>
      resolve(s),
    )
  })
  servers.push(server)
  const url = `http://localhost:${(server.address() as AddressInfo).port}`
  return {
    url,
    serve: (app) => {
      handler = app.fetch
    },
  }
}
type Handler = (request: Request) => Response | Promise<Response>

/** The app on a real port (the emulator accepts any port for a registered http://localhost redirect URI). */
async function serveApp(options: Parameters<typeof buildApp>[1] = {}): Promise<string> {
  const listener = await listen()
  listener.serve(buildApp(h, { ...options, publicUrl: listener.url }))
  return listener.url
}

beforeAll(async () => {
  const listener = await listen()
  h = await startHarness(listener.url)
  listener.serve(buildApp(h, { publicUrl: listener.url }))
  appUrl = listener.url
  browser = await launchChromium()
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  await h?.handle.stop()
})

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true })
  return context.newPage()
}

async function signIn(page: Page, upn: string, pick: boolean, url = appUrl) {
  await page.goto(url)
  await page.getByRole('link', { name: 'Sign in' }).click()
  await page.waitForURL(/\/oauth2\/v2\.0\/authorize/)
  if (pick) {
    await page.locator(`button[data-upn="${upn}"]`).click()
  } else {
    await page.locator('input[name="typed"]').fill(upn)
    await page.getByRole('button', { name: 'Next' }).click()
  }
}

describe('in headless Chromium', () => {
  it('a Contoso user signs in, sees dev data, switches to prod, reads as themself and signs out', async () => {
    const page = await newPage()
    await signIn(page, 'admin@contoso.onmicrosoft.com', true)
    await page.waitForURL(`${appUrl}/`)
    await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toBe('Megan Bowen')
    expect(await page.getByTestId('current-environment').textContent()).toBe('dev')
    const devCount = h.handle.admin.org(h.world.orgs.dev.id).data.count('accounts')
    expect(await page.getByTestId('accounts-read').textContent()).toBe(`${devCount} accounts`)
    expect(await page.locator('[data-testid="contacts"] tbody tr').count()).toBe(10)
    expect(await page.locator('[data-testid="owners"]').textContent()).toContain('Alice Anderson')

    await page.getByTestId('environment').selectOption('prod')
    await page.getByRole('button', { name: 'Switch' }).click()
    await page.waitForURL(`${appUrl}/`)
    await page.waitForURL(`${appUrl}/`)
    expect(await page.getByTestId('current-environment').textContent()).toBe('prod')
    const prodCount = h.handle.admin.org(h.world.orgs.prod.id).data.count('accounts')
    expect(await page.getByTestId('accounts-read').textContent()).toBe(`${prodCount} accounts`)
    expect(await page.getByTestId('context').textContent()).toContain(h.world.orgs.prod.url)

    await page.getByTestId('toggle-impersonation').click()
    await expect.poll(() => page.getByTestId('caller').textContent()).toBe('Megan Bowen (impersonated)')
    expect(await page.getByTestId('context').textContent()).toContain('Dataverse user Megan Bowen')

    // The session cookie is invisible to scripts.
    expect(await page.evaluate(() => document.cookie)).toBe('')
    const cookies = await page.context().cookies(appUrl)
    expect(cookies.find((c) => c.name === 'session')).toMatchObject({ httpOnly: true, sameSite: 'Lax' })

    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL((url) => url.href.startsWith(appUrl))
    await expect.poll(() => page.getByRole('link', { name: 'Sign in' }).count()).toBe(1)
    await page.context().close()
  })

  it('a Fabrikam user is refused by Entra ID at the Contoso authority and never reaches the app', async () => {
    const page = await newPage()
    await signIn(page, 'carol@fabrikam.onmicrosoft.com', false)
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('AADSTS50020')
    expect(page.url()).not.toContain(appUrl)
    await page.goto(appUrl)
    expect(await page.getByRole('link', { name: 'Sign in' }).count()).toBe(1)
    await page.context().close()
  })

  it('a valid ID token of another tenant gets the app refusal page', async () => {
    // As if Entra ID had issued a Fabrikam ID token for this app: right key, audience and nonce, wrong tenant.
    const network = swapIdToken(h.network, (original) =>
      h.handle.world.mintIdToken({
        userObjectId: defaultIds.users.fabrikamCarol,
        appId: h.config.clientId,
        nonce: String(original['nonce']),
      }),
    )
    const url = await serveApp({ network })
    const page = await newPage()
    await signIn(page, 'alice@contoso.onmicrosoft.com', true, url)
    await expect.poll(() => page.getByTestId('refused').isVisible()).toBe(true)
    const text = await page.getByTestId('refused').textContent()
    expect(text).toContain('Access refused')
    expect(text).toContain('carol@fabrikam.onmicrosoft.com')
    expect(text).toContain('only for accounts of Contoso')
    // No session was created (cookies ignore ports: the emulator's own cookie on localhost is there too).
    expect((await page.context().cookies(url)).map((c) => c.name)).not.toContain('session')
    await page.context().close()
  })
})
