import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Configuration } from '@azure/msal-browser'
import { launchChromium } from '@dataverse-s2s/test-browser'
import { decodeJwt } from 'jose'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultIds, type EmulatorHandle, startEmulator } from '../src/index.ts'

const ids = defaultIds
const apiScope = `api://${ids.multiTenantAppId}/access_as_user`
let emulator: EmulatorHandle
let server: Server
let appUrl: string
let browser: Browser

// The SPA under test: msal-browser's own browser build, configured only with the emulator's authority.
function page(config: { auth: Configuration['auth']; scope: string }): string {
  return `<!doctype html><html><head><title>loading</title><script src="/msal-browser.min.js"></script></head><body>
<script type="application/json" id="cfg">${JSON.stringify(config)}</script>
<script>
(async () => {
  const cfg = JSON.parse(document.getElementById('cfg').textContent)
  const pca = new msal.PublicClientApplication({
    auth: cfg.auth,
    cache: { cacheLocation: 'sessionStorage' },
  })
  await pca.initialize()
  const res = await pca.handleRedirectPromise()
  if (!res) { await pca.loginRedirect({ scopes: [cfg.scope] }); return }
  const silent = await pca.acquireTokenSilent({ account: res.account, scopes: [cfg.scope], forceRefresh: true })
  window.__result = { idToken: res.idToken, accessToken: res.accessToken, refreshed: silent.accessToken, username: res.account.username, tenantId: res.account.tenantId }
  document.title = 'done'
})().catch((e) => { window.__error = String((e && e.errorCode) || '') + ' ' + String((e && e.message) || e); document.title = 'error' })
</script></body></html>`
}

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
  const entry = createRequire(import.meta.url).resolve('@azure/msal-browser')
  const root = entry.slice(0, entry.lastIndexOf('@azure/msal-browser') + '@azure/msal-browser'.length)
  const msalJs = await readFile(join(root, 'lib', 'msal-browser.min.js'), 'utf8')
  server = createServer((req, res) => {
    if (req.url?.startsWith('/msal-browser.min.js')) {
      res.writeHead(200, { 'content-type': 'text/javascript' })
      res.end(msalJs)
      return
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(
      page({
        auth: {
          clientId: ids.multiTenantAppId,
          authority: emulator.authority('organizations'),
          knownAuthorities: [emulator.authorityHost],
          redirectUri: appUrl,
        },
        scope: apiScope,
      }),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  // A loopback SPA redirect URI: Entra ignores the port of http://localhost, so the registered http://localhost:5173 matches.
  appUrl = `http://localhost:${(server.address() as AddressInfo).port}/`
  browser = await launchChromium()
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  await emulator?.stop()
})

describe('@azure/msal-browser in headless Chromium', () => {
  it('signs a seeded user in through the emulator page and gets an access token for the API', {
    timeout: 90_000,
  }, async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true })
    try {
      const tab = await context.newPage()
      const log: string[] = []
      tab.on('console', (m) => log.push(`console ${m.type()}: ${m.text()}`))
      tab.on('pageerror', (e) => log.push(`pageerror: ${e.message}`))
      tab.on('framenavigated', (f) => log.push(`nav: ${f.url()}`))
      tab.on('requestfailed', (r) => log.push(`failed: ${r.url()} ${r.failure()?.errorText}`))
      await tab.goto(appUrl)
      const alice = tab.locator('button[data-upn="alice@contoso.onmicrosoft.com"]')
      await alice.waitFor({ timeout: 30_000 }).catch((err: Error) => {
        throw new Error(`${err.message}\n${log.join('\n')}`)
      })
      expect(new URL(tab.url()).origin).toBe(emulator.url)
      await alice.click()
      await tab.waitForFunction(() => document.title === 'done' || document.title === 'error', undefined, {
        timeout: 30_000,
      })
      const error = await tab.evaluate(() => (window as unknown as { __error?: string }).__error)
      expect(error, log.join('\n')).toBeUndefined()
      const result = await tab.evaluate(
        () =>
          (
            window as unknown as {
              __result: {
                idToken: string
                accessToken: string
                refreshed: string
                username: string
                tenantId: string
              }
            }
          ).__result,
      )
      expect(result.username).toBe('alice@contoso.onmicrosoft.com')
      expect(result.tenantId).toBe(ids.contosoTenantId)
      expect(decodeJwt(result.accessToken)).toMatchObject({
        aud: ids.multiTenantAppId,
        scp: 'access_as_user',
        oid: ids.users.contosoAlice,
        ver: '2.0',
      })
      expect(decodeJwt(result.refreshed).oid).toBe(ids.users.contosoAlice)
      expect(decodeJwt(result.idToken)).toMatchObject({ aud: ids.multiTenantAppId, tid: ids.contosoTenantId })
      await expect(emulator.world.verifyJwt(result.accessToken)).resolves.toBeTruthy()
    } finally {
      await context.close()
    }
  })
})
