import { ConfidentialClientApplication, CryptoProvider } from '@azure/msal-node'
import { decodeJwt } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { defaultIds, type EmulatorHandle, startEmulator } from '../src/index.ts'

const ids = defaultIds
let emulator: EmulatorHandle
let restoreDispatcher: () => void

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
  restoreDispatcher = emulator.trust.installGlobally()
})
afterAll(async () => {
  restoreDispatcher?.()
  await emulator?.stop()
})
afterEach(async () => {
  await emulator.admin.reset()
})

/** A tiny cookie-keeping browser over fetch that does not follow redirects. */
class Browser {
  cookies = new Map<string, string>()
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '))
    const res = await fetch(url, { ...init, headers, redirect: 'manual' })
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const [k, v] = pair!.split('=')
      if (/max-age=0/i.test(line) || v === '') this.cookies.delete(k!)
      else this.cookies.set(k!, v!)
    }
    return res
  }
  /** Submits the page's form with the hidden fields plus `extra`. */
  async submit(page: Response, extra: Record<string, string>): Promise<Response> {
    const html = await page.text()
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]
    if (!action) throw new Error(`no form in page: ${html.slice(0, 300)}`)
    const fields = new URLSearchParams()
    for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
      fields.set(decode(m[1]!), decode(m[2]!))
    for (const [k, v] of Object.entries(extra)) fields.set(k, v)
    return this.request(new URL(decode(action), emulator.url).toString(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: fields,
    })
  }
}
const decode = (s: string) => s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))

const orgOf = (tenantId: string) => emulator.orgs.find((o) => o.tenantId === tenantId)!
const webRedirect = 'http://localhost:3001/auth/callback'
const apiScope = `api://${ids.multiTenantAppId}/access_as_user`

function singleTenantClient() {
  return new ConfidentialClientApplication({
    auth: {
      clientId: ids.singleTenantAppId,
      clientSecret: ids.singleTenantAppSecret,
      ...emulator.msalAuth(ids.contosoTenantId),
    },
  })
}

describe('authorization code + PKCE with msal-node, driven over HTTP', () => {
  it('signs a seeded user in, redeems the code, and refreshes', async () => {
    const cca = singleTenantClient()
    const crypto = new CryptoProvider()
    const { verifier, challenge } = await crypto.generatePkceCodes()
    const org = orgOf(ids.contosoTenantId)
    const scopes = [`${org.url}/user_impersonation`]
    const url = await cca.getAuthCodeUrl({
      scopes,
      redirectUri: webRedirect,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      state: 'st-1',
      nonce: 'nonce-1',
      loginHint: 'alice@contoso.onmicrosoft.com',
    })
    const browser = new Browser()
    const page = await browser.request(url)
    expect(page.status).toBe(200)
    const signedIn = await browser.submit(page, { login: 'alice@contoso.onmicrosoft.com' })
    expect(signedIn.status).toBe(302)
    const location = new URL(signedIn.headers.get('location')!)
    expect(`${location.origin}${location.pathname}`).toBe(webRedirect)
    expect(location.searchParams.get('state')).toBe('st-1')
    const code = location.searchParams.get('code')!

    const nonce = new URL(url).searchParams.get('nonce')!
    const result = await cca.acquireTokenByCode(
      { code, scopes, redirectUri: webRedirect, codeVerifier: verifier, nonce, state: 'st-1' },
      { code, state: location.searchParams.get('state')! },
    )
    expect(result.account?.username).toBe('alice@contoso.onmicrosoft.com')
    expect(result.account?.tenantId).toBe(ids.contosoTenantId)
    const idClaims = decodeJwt(result.idToken)
    expect(idClaims).toMatchObject({
      aud: ids.singleTenantAppId,
      nonce,
      tid: ids.contosoTenantId,
      ver: '2.0',
      iss: `${emulator.url}/${ids.contosoTenantId}/v2.0`,
    })
    expect(decodeJwt(result.accessToken)).toMatchObject({
      aud: org.url,
      scp: 'user_impersonation',
      oid: ids.users.contosoAlice,
      upn: 'alice@contoso.onmicrosoft.com',
      ver: '1.0',
    })
    await expect(emulator.world.verifyJwt(result.idToken)).resolves.toBeTruthy()

    // The delegated token works on the org: WhoAmI answers as Alice's system user.
    const who = await fetch(`${org.url}/api/data/v9.2/WhoAmI`, {
      headers: { authorization: `Bearer ${result.accessToken}` },
    })
    expect(who.status).toBe(200)

    const refreshed = await cca.acquireTokenSilent({ account: result.account!, scopes, forceRefresh: true })
    expect(refreshed.accessToken).not.toBe(result.accessToken)
    expect(decodeJwt(refreshed.accessToken)).toMatchObject({ oid: ids.users.contosoAlice })

    // Single sign-on: with the session cookie, prompt=none returns a code at once.
    const silent = await browser.request(
      await cca.getAuthCodeUrl({ scopes, redirectUri: webRedirect, prompt: 'none', state: 's2' }),
    )
    expect(new URL(silent.headers.get('location')!).searchParams.get('code')).toBeTruthy()
    // Logout ends the session.
    const out = await browser.request(
      `${emulator.url}/${ids.contosoTenantId}/oauth2/v2.0/logout?post_logout_redirect_uri=${encodeURIComponent('http://localhost:3001/')}&state=bye`,
    )
    expect(out.status).toBe(302)
    expect(out.headers.get('location')).toBe('http://localhost:3001/?state=bye')
    const after = await browser.request(
      await cca.getAuthCodeUrl({ scopes, redirectUri: webRedirect, prompt: 'none', state: 's3' }),
    )
    const err = new URL(after.headers.get('location')!).searchParams
    expect(err.get('error')).toBe('login_required')
    expect(err.get('error_description')).toMatch(/^AADSTS50058:/)
    expect(err.get('state')).toBe('s3')
  })

  it('offers the accounts of every tenant at /organizations, narrowed by domain_hint', async () => {
    const url = (extra: Record<string, string>) =>
      `${emulator.url}/organizations/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: ids.multiTenantAppId, response_type: 'code', redirect_uri: 'http://localhost:3000/auth/callback', scope: 'openid', ...extra })}`
    const all = await (await fetch(url({}))).text()
    expect(all).toContain('data-upn="alice@contoso.onmicrosoft.com"')
    expect(all).toContain('data-upn="carol@fabrikam.onmicrosoft.com"')
    const fabrikam = await (await fetch(url({ domain_hint: 'fabrikam.onmicrosoft.com' }))).text()
    expect(fabrikam).not.toContain('data-upn="alice@contoso.onmicrosoft.com"')
    expect(fabrikam).toContain('data-upn="carol@fabrikam.onmicrosoft.com"')
  })

  it('refuses a wrong code_verifier (AADSTS501481) and a reused code (AADSTS54005)', async () => {
    const cca = singleTenantClient()
    const { verifier, challenge } = await new CryptoProvider().generatePkceCodes()
    const scopes = ['openid', 'profile']
    const browser = new Browser()
    const page = await browser.request(
      await cca.getAuthCodeUrl({
        scopes,
        redirectUri: webRedirect,
        codeChallenge: challenge,
        codeChallengeMethod: 'S256',
      }),
    )
    const code = new URL(
      (await browser.submit(page, { login: 'bob@contoso.onmicrosoft.com' })).headers.get('location')!,
    ).searchParams.get('code')!
    const redeem = (v: string) =>
      fetch(`${emulator.url}/${ids.contosoTenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: ids.singleTenantAppId,
          client_secret: ids.singleTenantAppSecret,
          code,
          redirect_uri: webRedirect,
          code_verifier: v,
          scope: 'openid profile',
        }),
      })
    const bad = await redeem(`${verifier}x`)
    expect(((await bad.json()) as { error_codes: number[] }).error_codes).toEqual([501481])
    const good = await redeem(verifier)
    expect(good.status).toBe(200)
    const again = await redeem(verifier)
    expect(((await again.json()) as { error_codes: number[] }).error_codes).toEqual([54005])
  })

  it('answers with fragment and form_post response modes', async () => {
    const cca = singleTenantClient()
    const browser = new Browser()
    const frag = await browser.submit(
      await browser.request(
        await cca.getAuthCodeUrl({
          scopes: ['openid'],
          redirectUri: webRedirect,
          responseMode: 'fragment' as never,
          state: 'f',
        }),
      ),
      { login: 'alice@contoso.onmicrosoft.com' },
    )
    const hash = new URLSearchParams(new URL(frag.headers.get('location')!).hash.slice(1))
    expect(hash.get('code')).toBeTruthy()
    expect(hash.get('state')).toBe('f')
    const post = await browser.request(
      await cca.getAuthCodeUrl({
        scopes: ['openid'],
        redirectUri: webRedirect,
        responseMode: 'form_post' as never,
        state: 'p',
      }),
    )
    const html = await post.text()
    expect(html).toContain(`action="${webRedirect}"`)
    expect(html).toMatch(/name="code" value="[^"]+"/)
    expect(html).toContain('name="state" value="p"')
  })

  it('enforces SPA redemption rules (AADSTS9002327 without Origin, AADSTS9002326 for a web redirect with Origin)', async () => {
    const browser = new Browser()
    const spaRedirect = 'http://localhost:5173'
    const { verifier, challenge } = await new CryptoProvider().generatePkceCodes()
    const authorize = `${emulator.url}/organizations/oauth2/v2.0/authorize?${new URLSearchParams({
      client_id: ids.multiTenantAppId,
      response_type: 'code',
      redirect_uri: spaRedirect,
      scope: `${apiScope} openid offline_access`,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      response_mode: 'fragment',
    })}`
    const res = await browser.submit(await browser.request(authorize), {
      login: 'alice@contoso.onmicrosoft.com',
    })
    const location = new URL(res.headers.get('location')!)
    expect(`${location.origin}${location.pathname}`).toBe('http://localhost:5173/')
    const code = new URLSearchParams(location.hash.slice(1)).get('code')!
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: ids.multiTenantAppId,
      code,
      redirect_uri: spaRedirect,
      code_verifier: verifier,
      scope: `${apiScope} openid offline_access`,
    })
    const tokenUrl = `${emulator.url}/organizations/oauth2/v2.0/token`
    const noOrigin = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    })
    expect(((await noOrigin.json()) as { error_codes: number[] }).error_codes).toEqual([9002327])
    const ok = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost:5173' },
      body,
    })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('access-control-allow-origin')).toBe('*')
    const tokens = (await ok.json()) as Record<string, string>
    expect(decodeJwt(tokens.access_token!)).toMatchObject({
      aud: ids.multiTenantAppId,
      scp: 'access_as_user',
      ver: '2.0',
      azp: ids.multiTenantAppId,
      tid: ids.contosoTenantId,
    })
    expect(tokens.refresh_token).toBeTruthy()
    expect(tokens.scope).toContain(apiScope)

    const web = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: ids.singleTenantAppId,
        client_secret: ids.singleTenantAppSecret,
        refresh_token: 'x',
      }),
    })
    expect(web.status).toBe(400)
    const spaRefresh = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost:5173' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: ids.multiTenantAppId,
        refresh_token: tokens.refresh_token!,
        scope: `${apiScope} offline_access`,
      }),
    })
    expect(spaRefresh.status).toBe(200)
  })
})

describe('sign-in page and v1 endpoints', () => {
  const authorizeUrl = (
    tenant: string,
    clientId: string,
    redirectUri: string,
    extra: Record<string, string> = {},
  ) =>
    `${emulator.url}/${tenant}/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: clientId, response_type: 'code', redirect_uri: redirectUri, scope: 'openid', ...extra })}`

  it('refuses unknown users and users of another tenant on the page itself', async () => {
    const browser = new Browser()
    const page = () => browser.request(authorizeUrl(ids.contosoTenantId, ids.singleTenantAppId, webRedirect))
    const unknown = await browser.submit(await page(), { typed: 'nobody@contoso.onmicrosoft.com' })
    expect(unknown.status).toBe(400)
    expect(await unknown.text()).toContain('AADSTS50034')
    const foreign = await browser.submit(await page(), { typed: 'carol@fabrikam.onmicrosoft.com' })
    expect(foreign.status).toBe(400)
    expect(await foreign.text()).toContain('AADSTS50020')
    const typed = await browser.submit(await page(), { typed: 'ALICE@contoso.onmicrosoft.com' })
    expect(new URL(typed.headers.get('location')!).searchParams.get('code')).toBeTruthy()
    // With a session, prompt=login and prompt=select_account still show the page.
    for (const prompt of ['login', 'select_account']) {
      const again = await browser.request(
        authorizeUrl(ids.contosoTenantId, ids.singleTenantAppId, webRedirect, { prompt }),
      )
      expect(again.status).toBe(200)
      expect(await again.text()).toContain('data-upn="alice@contoso.onmicrosoft.com"')
    }
  })

  it('keeps a single-tenant app to its home tenant (AADSTS50194 on /common, AADSTS700016 elsewhere)', async () => {
    const common = await fetch(authorizeUrl('common', ids.singleTenantAppId, webRedirect), {
      redirect: 'manual',
    })
    expect(common.status).toBe(400)
    expect(await common.text()).toContain('AADSTS50194')
    const other = await fetch(authorizeUrl(ids.fabrikamTenantId, ids.singleTenantAppId, webRedirect), {
      redirect: 'manual',
    })
    expect(other.status).toBe(400)
    expect(await other.text()).toContain('AADSTS700016')
  })

  it('runs the v1 flow: /oauth2/authorize with resource, /oauth2/token with resource', async () => {
    const org = orgOf(ids.contosoTenantId)
    const browser = new Browser()
    const start = await browser.request(
      `${emulator.url}/${ids.contosoTenantId}/oauth2/authorize?${new URLSearchParams({ client_id: ids.singleTenantAppId, response_type: 'code', redirect_uri: webRedirect, resource: org.url })}`,
    )
    const code = new URL(
      (await browser.submit(start, { login: 'alice@contoso.onmicrosoft.com' })).headers.get('location')!,
    ).searchParams.get('code')!
    const res = await fetch(`${emulator.url}/${ids.contosoTenantId}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: ids.singleTenantAppId,
        client_secret: ids.singleTenantAppSecret,
        code,
        redirect_uri: webRedirect,
        resource: org.url,
      }),
    })
    const body = (await res.json()) as Record<string, string>
    expect(res.status).toBe(200)
    expect(body).toMatchObject({ resource: org.url, expires_in: '3599' })
    expect(decodeJwt(body.access_token!)).toMatchObject({
      aud: org.url,
      scp: 'user_impersonation',
      ver: '1.0',
    })
    expect(body.refresh_token).toBeTruthy()
    expect(body.id_token).toBeTruthy()
  })
})

describe('consent in user flows', () => {
  const fabrikamAuthorize = (browser: Browser, extra: Record<string, string> = {}) =>
    browser.request(
      `${emulator.url}/organizations/oauth2/v2.0/authorize?${new URLSearchParams({
        client_id: ids.multiTenantAppId,
        response_type: 'code',
        redirect_uri: 'http://localhost:3000/auth/callback',
        scope: 'openid profile',
        state: 'c1',
        ...extra,
      })}`,
    )

  it('returns AADSTS65001 to a non-admin of a tenant without consent', async () => {
    const browser = new Browser()
    const res = await browser.submit(await fabrikamAuthorize(browser), {
      login: 'dave@fabrikam.onmicrosoft.com',
    })
    const q = new URL(res.headers.get('location')!).searchParams
    expect(q.get('error')).toBe('consent_required')
    expect(q.get('error_description')).toMatch(/^AADSTS65001: /)
    expect(q.get('state')).toBe('c1')
  })

  it('lets a tenant admin consent for the organization from the sign-in flow', async () => {
    const browser = new Browser()
    const consent = await browser.submit(await fabrikamAuthorize(browser), {
      login: 'admin@fabrikam.onmicrosoft.com',
    })
    expect(consent.status).toBe(200)
    const html = await consent.clone().text()
    expect(html).toContain('Permissions requested')
    const done = await browser.submit(consent, { consent: 'accept' })
    expect(new URL(done.headers.get('location')!).searchParams.get('code')).toBeTruthy()
    expect(emulator.world.getServicePrincipal(ids.fabrikamTenantId, ids.multiTenantAppId)).toBeDefined()
  })
})

describe('admin consent endpoints', () => {
  const redirect = 'http://localhost:3000/onboarding/callback'
  it('v2: a tenant admin consents; the redirect carries admin_consent, tenant, state and scope', async () => {
    const browser = new Browser()
    const scope = `${orgOf(ids.fabrikamTenantId).url}/.default`
    const start = await browser.request(
      `${emulator.url}/organizations/v2.0/adminconsent?${new URLSearchParams({ client_id: ids.multiTenantAppId, redirect_uri: redirect, state: 'xyz', scope })}`,
    )
    expect(start.status).toBe(200)
    const consent = await browser.submit(start, { login: 'admin@fabrikam.onmicrosoft.com' })
    expect(await consent.clone().text()).toContain('Accept')
    const done = await browser.submit(consent, { consent: 'accept' })
    const q = new URL(done.headers.get('location')!).searchParams
    expect(Object.fromEntries(q)).toEqual({
      admin_consent: 'True',
      tenant: ids.fabrikamTenantId,
      state: 'xyz',
      scope,
    })
    expect(emulator.world.getServicePrincipal(ids.fabrikamTenantId, ids.multiTenantAppId)).toBeDefined()
  })

  it('v1: only an admin can consent; cancelling returns access_denied', async () => {
    let browser = new Browser()
    const start = () =>
      browser.request(
        `${emulator.url}/${ids.fabrikamTenantId}/adminconsent?${new URLSearchParams({ client_id: ids.multiTenantAppId, redirect_uri: redirect, state: 's' })}`,
      )
    const denied = await browser.submit(await start(), { login: 'carol@fabrikam.onmicrosoft.com' })
    const dq = new URL(denied.headers.get('location')!).searchParams
    expect(dq.get('error')).toBe('access_denied')
    expect(dq.get('error_description')).toMatch(/^AADSTS90093:/)
    browser = new Browser()
    const consentPage = await browser.submit(await start(), { login: 'admin@fabrikam.onmicrosoft.com' })
    const cancelled = await browser.submit(consentPage, { consent: 'cancel' })
    const cq = new URL(cancelled.headers.get('location')!).searchParams
    expect(cq.get('error')).toBe('access_denied')
    expect(cq.get('state')).toBe('s')
    expect(emulator.world.getServicePrincipal(ids.fabrikamTenantId, ids.multiTenantAppId)).toBeUndefined()
  })

  it('shows an error page for an unregistered redirect URI instead of redirecting (AADSTS50011)', async () => {
    const res = await fetch(
      `${emulator.url}/common/adminconsent?client_id=${ids.multiTenantAppId}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}`,
    )
    expect(res.status).toBe(400)
    expect(await res.text()).toContain('AADSTS50011')
  })
})
