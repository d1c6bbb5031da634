import { defaultIds } from '@dataverse-s2s/emulator'
import { generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { buildApp, type Harness, jar, signInOverHttp, startHarness, swapIdToken } from './support.ts'

let h: Harness
const base = 'http://localhost:3001'

beforeAll(async () => {
  h = await startHarness(base)
}, 120_000)
afterAll(() => h?.handle.stop())

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? ''

function post(
  app: ReturnType<typeof buildApp>,
  path: string,
  cookie: string,
  fields: Record<string, string>,
  origin = base,
) {
  return app.request(`${base}${path}`, {
    method: 'POST',
    headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  })
}

describe('sign-in against the emulator', () => {
  it('signs a Contoso user in, with a session cookie that is HttpOnly and SameSite, and shows the dev data', async () => {
    const app = buildApp(h)
    const { response, cookies } = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com')
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe('/')
    const setCookie = response.headers.getSetCookie().find((c) => c.startsWith('session='))!
    expect(setCookie).toMatch(/HttpOnly/)
    expect(setCookie).toMatch(/SameSite=Lax/)
    expect(cookies.cookies.has('signin')).toBe(false)
    const page = await app.request(`${base}/`, { headers: { cookie: cookies.cookie() } })
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('Alice Anderson')
    expect(html).toMatch(/data-testid="current-environment">dev</)
    expect(html).toMatch(/data-testid="accounts-read">\d+ accounts/)
    expect(html).toContain('# Contoso Back Office')
    expect(page.headers.get('cache-control')).toBe('no-store')
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/)
  })

  it('switches environments and acts as the signed-in user on request', async () => {
    const app = buildApp(h)
    const { cookies } = await signInOverHttp(app, h, 'admin@contoso.onmicrosoft.com')
    const cookie = cookies.cookie()
    const csrf = csrfOf(await (await app.request(`${base}/`, { headers: { cookie } })).text())
    const devCount = h.handle.admin.org(h.world.orgs.dev.id).data.count('accounts')
    const prodCount = h.handle.admin.org(h.world.orgs.prod.id).data.count('accounts')
    expect(devCount).not.toBe(prodCount)

    expect((await post(app, '/environment', cookie, { _csrf: csrf, environment: 'prod' })).status).toBe(303)
    let html = await (await app.request(`${base}/`, { headers: { cookie } })).text()
    expect(html).toMatch(/data-testid="current-environment">prod</)
    expect(html).toContain(`${prodCount} accounts`)

    expect((await post(app, '/environment', cookie, { _csrf: csrf, environment: 'nope' })).status).toBe(400)

    expect((await post(app, '/impersonation', cookie, { _csrf: csrf, actAsUser: 'true' })).status).toBe(303)
    const asMe = await app.request(`${base}/`, { headers: { cookie } })
    html = await asMe.text()
    expect(html).toContain('Megan Bowen (impersonated)')
    // Dataverse ran the reads as Megan: WhoAmI names her system user, not the application user.
    expect(asMe.status).toBe(200)
    expect(html).not.toContain('# Contoso Back Office')
    expect(html).toContain('Dataverse user Megan Bowen')
  })

  it('explains when Dataverse refuses to act as a user without privileges', async () => {
    const app = buildApp(h)
    const { cookies } = await signInOverHttp(app, h, 'bob@contoso.onmicrosoft.com')
    const cookie = cookies.cookie()
    const csrf = csrfOf(await (await app.request(`${base}/`, { headers: { cookie } })).text())
    await post(app, '/impersonation', cookie, { _csrf: csrf, actAsUser: 'true' })
    const page = await app.request(`${base}/`, { headers: { cookie } })
    expect(page.status).toBe(502)
    expect(await page.text()).toContain('Dataverse refused to act as you')
  })

  it('refuses a Fabrikam user: Entra ID stops them at the Contoso authority', async () => {
    const app = buildApp(h)
    const { response, emulatorPage, cookies } = await signInOverHttp(app, h, 'carol@fabrikam.onmicrosoft.com')
    expect(response.status).toBe(400)
    expect(emulatorPage).toContain('AADSTS50020')
    expect((await app.request(`${base}/`, { headers: { cookie: cookies.cookie() } })).status).toBe(200)
  })

  it('refuses a valid ID token of another tenant with a clear page', async () => {
    // As if Entra ID had issued Carol's (Fabrikam) ID token: signed by Entra's key, for this app, right nonce.
    const network = swapIdToken(h.network, (original) =>
      h.handle.world.mintIdToken({
        userObjectId: defaultIds.users.fabrikamCarol,
        appId: h.config.clientId,
        nonce: String(original['nonce']),
      }),
    )
    const app = buildApp(h, { network })
    const { response } = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com')
    expect(response.status).toBe(403)
    const html = await response.text()
    expect(html).toContain('Access refused')
    expect(html).toContain('carol@fabrikam.onmicrosoft.com')
    expect(html).toContain('only for accounts of Contoso')
    expect(
      response.headers.getSetCookie().some((c) => c.startsWith('session=') && !c.startsWith('session=;')),
    ).toBe(false)
  })

  it('refuses ID tokens with a forged signature, another audience or a foreign nonce', async () => {
    const { privateKey } = await generateKeyPair('RS256')
    const forge = async (claims: Record<string, unknown>) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'forged' }).sign(privateKey)
    const cases: [string, (c: Record<string, unknown>) => Promise<string>][] = [
      ['forged signature', (c) => forge(c)],
      [
        'another audience',
        (c) =>
          h.handle.world.mintIdToken({
            userObjectId: defaultIds.users.contosoAlice,
            appId: defaultIds.multiTenantAppId,
            nonce: String(c['nonce']),
          }),
      ],
      [
        'foreign nonce',
        () =>
          h.handle.world.mintIdToken({
            userObjectId: defaultIds.users.contosoAlice,
            appId: h.config.clientId,
            nonce: 'a-nonce-from-another-sign-in',
          }),
      ],
      [
        'expired',
        async (c) => {
          const [head, , sig] = (await forge(c)).split('.')
          return `${head}.${Buffer.from(JSON.stringify({ ...c, exp: 1 })).toString('base64url')}.${sig}`
        },
      ],
    ]
    const logged: string[] = []
    const spies = (['log', 'warn', 'error'] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logged.push(args.map(String).join(' '))
      }),
    )
    try {
      for (const [name, replace] of cases) {
        const app = buildApp(h, { network: swapIdToken(h.network, replace) })
        const { response } = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com')
        expect(response.status, name).toBe(400)
        const html = await response.text()
        expect(html, name).toContain('Sign-in failed')
        // Neither the page nor the log quotes a token (JWTs start with a base64url '{"').
        expect(html, name).not.toContain('eyJ')
      }
    } finally {
      for (const spy of spies) spy.mockRestore()
    }
    expect(logged.some((line) => line.includes('nonce_mismatch'))).toBe(true)
    expect(logged.join('\n')).not.toContain('eyJ')
  })

  it('turns an error redirect from Entra ID into a refusal or failure page, without echoing its text', async () => {
    const app = buildApp(h)
    for (const [description, status, text] of [
      ['AADSTS50020: User account from another tenant <script>alert(1)</script>', 403, 'Access refused'],
      ['AADSTS65004: User declined to consent <script>alert(1)</script>', 400, 'AADSTS65004'],
    ] as const) {
      const cookies = jar()
      const start = await app.request(`${base}/auth/signin`)
      cookies.store(start)
      const state = new URL(start.headers.get('location')!).searchParams.get('state')!
      const query = new URLSearchParams({ state, error: 'access_denied', error_description: description })
      const res = await app.request(`${base}/auth/callback?${query}`, {
        headers: { cookie: cookies.cookie() },
      })
      expect(res.status).toBe(status)
      const html = await res.text()
      expect(html).toContain(text)
      expect(html).not.toContain('<script>')
      expect(html).not.toContain('alert(1)')
    }
  })

  it('uses a sign-in flow once: a replayed callback, or one without its cookie, is refused', async () => {
    const app = buildApp(h)
    const first = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com')
    expect(first.response.status).toBe(303)
    const flowCookie = jar()
    const again = await app.request(first.callbackUrl!, { headers: { cookie: first.cookies.cookie() } })
    expect(again.status).toBe(400)
    expect(await again.text()).toContain('already used')
    // A callback link planted by someone else (login CSRF): this browser started no sign-in.
    const second = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com')
    expect(second.response.status).toBe(303)
    const planted = await app.request(first.callbackUrl!, { headers: { cookie: flowCookie.cookie() } })
    expect(planted.status).toBe(400)
  })
})

describe('sessions of the app', () => {
  it('refuses a tampered cookie and a cookie replayed after sign-out', async () => {
    const app = buildApp(h)
    const { cookies } = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com')
    const cookie = cookies.cookie()
    const value = cookies.cookies.get('session')!
    const flipped = value.at(-2) === 'A' ? 'B' : 'A'
    const tampered = `session=${value.slice(0, -2)}${flipped}${value.slice(-1)}`
    const forged = await app.request(`${base}/`, { headers: { cookie: tampered } })
    expect(forged.status).toBe(401)
    expect(await forged.text()).toContain('Your session has ended')

    const csrf = csrfOf(await (await app.request(`${base}/`, { headers: { cookie } })).text())
    const out = await post(app, '/auth/signout', cookie, { _csrf: csrf })
    expect(out.status).toBe(303)
    expect(out.headers.get('location')).toMatch(/\/oauth2\/v2\.0\/logout\?post_logout_redirect_uri=/)
    const replayed = await app.request(`${base}/`, { headers: { cookie } })
    expect(replayed.status).toBe(401)
    expect(await replayed.text()).not.toContain('Alice')
    expect((await post(app, '/environment', cookie, { _csrf: csrf, environment: 'prod' })).status).toBe(403)
  })

  it('refuses an expired session', async () => {
    let clock = Date.now()
    const app = buildApp(h, { now: () => clock })
    const { cookies } = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com')
    const cookie = cookies.cookie()
    expect((await app.request(`${base}/`, { headers: { cookie } })).status).toBe(200)
    clock += 31 * 60_000
    const idle = await app.request(`${base}/`, { headers: { cookie } })
    expect(idle.status).toBe(401)
  })

  it('blocks CSRF on every state-changing form', async () => {
    const app = buildApp(h)
    const { cookies } = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com')
    const cookie = cookies.cookie()
    const csrf = csrfOf(await (await app.request(`${base}/`, { headers: { cookie } })).text())
    for (const [path, fields] of [
      ['/environment', { environment: 'prod' }],
      ['/impersonation', { actAsUser: 'true' }],
      ['/auth/signout', {}],
    ] as const) {
      expect((await post(app, path, cookie, { ...fields })).status, `${path} without token`).toBe(403)
      expect(
        (await post(app, path, cookie, { ...fields, _csrf: `${csrf}x` })).status,
        `${path} bad token`,
      ).toBe(403)
      expect(
        (await post(app, path, cookie, { ...fields, _csrf: csrf }, 'https://evil.example')).status,
        `${path} cross-site`,
      ).toBe(403)
    }
    // Nothing changed: still dev, still the application user, still signed in.
    const html = await (await app.request(`${base}/`, { headers: { cookie } })).text()
    expect(html).toMatch(/data-testid="current-environment">dev</)
    expect(html).toContain('the application user')
  })

  it('sets Secure and the __Host- prefix when served over https', async () => {
    const app = buildApp(h, { publicUrl: 'https://app.contoso.test' })
    const res = await app.request('https://app.contoso.test/auth/signin')
    const cookie = res.headers.getSetCookie()[0]!
    expect(cookie).toMatch(/^__Host-signin=/)
    expect(cookie).toMatch(/Secure/)
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/)
  })
})
