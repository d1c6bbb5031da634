import { createPublicKey } from 'node:crypto'
import { once } from 'node:events'
import { connect } from 'node:net'
import { defaultIds } from '@dataverse-s2s/emulator'
import { serve } from '@hono/node-server'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, type Harness, jar, signInOverHttp, startHarness, swapIdToken } from './support.ts'

/**
 * A second, independent attack run on the single-tenant sample (beside hostile.test.ts, fuzz.test.ts and the
 * refusals in app.test.ts): open redirects through a full sign-in, login CSRF, early refusals without the security
 * headers, HTTP methods over a real socket, path tricks and hostile cookies.
 */

let h: Harness
const base = 'http://localhost:3001'
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? ''

beforeAll(async () => {
  h = await startHarness(base)
}, 120_000)
afterAll(() => h?.handle.stop())

describe('open redirects', () => {
  it('a returnTo outside the app is dropped: after a full sign-in the browser lands on a path of this app', async () => {
    const app = buildApp(h)
    const hostile = [
      '//evil.example/',
      '/\\evil.example',
      'https://evil.example/',
      '\\\\evil.example',
      '/\t/evil.example',
      ' //evil.example',
      'javascript:alert(1)',
      `/${'a'.repeat(2000)}`,
    ]
    for (const returnTo of hostile) {
      const { response } = await signInOverHttp(
        app,
        h,
        'alice@contoso.onmicrosoft.com',
        jar(),
        undefined,
        returnTo,
      )
      expect(response.status, returnTo).toBe(303)
      expect(response.headers.get('location'), returnTo).toBe('/')
    }
    // Paths that stay in the app keep working, and resolve to this app's origin whatever their dots.
    for (const returnTo of ['/?tab=prod', '/.//evil.example', '/%2F%2Fevil.example']) {
      const { response } = await signInOverHttp(
        app,
        h,
        'alice@contoso.onmicrosoft.com',
        jar(),
        undefined,
        returnTo,
      )
      const location = response.headers.get('location') ?? ''
      expect(location, returnTo).toBe(returnTo)
      expect(new URL(location, base).origin, returnTo).toBe(base)
    }
  })

  it('sign-out goes to Entra ID’s logout of this tenant with this app as the only way back', async () => {
    const app = buildApp(h)
    const { cookies } = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com')
    const cookie = cookies.cookie()
    const csrf = csrfOf(await (await app.request(`${base}/`, { headers: { cookie } })).text())
    const res = await app.request(`${base}/auth/signout?post_logout_redirect_uri=https://evil.example/`, {
      method: 'POST',
      headers: { cookie, origin: base, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, post_logout_redirect_uri: 'https://evil.example/' }),
    })
    expect(res.status).toBe(303)
    const location = new URL(res.headers.get('location') ?? '')
    expect(location.origin).toBe(new URL(h.config.authorityHost).origin)
    expect(location.pathname).toBe(`/${h.config.tenantId}/oauth2/v2.0/logout`)
    expect(location.searchParams.getAll('post_logout_redirect_uri')).toEqual([`${base}/`])
  })
})

describe('ID token confusion at sign-in', () => {
  it('unsigned, HS256, wrong issuer, v1, not-yet-valid, expired or access tokens in the id_token slot sign nobody in', async () => {
    const keys = h.handle.world.signingKeys
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    const now = Math.floor(Date.now() / 1000)
    const hostOf = (c: Record<string, unknown>) => String(c['iss']).replace(/\/[^/]+\/v2\.0$/, '')
    const cases: [string, (c: Record<string, unknown>) => Promise<string>, number][] = [
      ['alg none', async (c) => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(c)}.`, 400],
      [
        'HS256 with the emulator’s public key',
        async (c) => {
          const x5c = keys.jwks().keys[0]?.x5c?.[0] ?? ''
          const pem = createPublicKey(
            `-----BEGIN CERTIFICATE-----\n${x5c}\n-----END CERTIFICATE-----`,
          ).export({
            type: 'spki',
            format: 'pem',
          })
          return new SignJWT(c)
            .setProtectedHeader({ alg: 'HS256', kid: keys.currentKid })
            .sign(Buffer.from(pem as string))
        },
        400,
      ],
      [
        'issuer of another tenant, this tenant’s tid',
        (c) => keys.signJwt({ ...c, iss: `${hostOf(c)}/${defaultIds.fabrikamTenantId}/v2.0` }),
        400,
      ],
      [
        'v1 issuer',
        (c) => keys.signJwt({ ...c, iss: `https://sts.windows.net/${c['tid']}/`, ver: '1.0' }),
        400,
      ],
      ['not valid for an hour', (c) => keys.signJwt({ ...c, nbf: now + 3600, iat: now + 3600 }), 400],
      [
        'expired an hour ago',
        (c) => keys.signJwt({ ...c, iat: now - 7200, nbf: now - 7200, exp: now - 3600 }),
        400,
      ],
      [
        'a Dataverse access token of the user',
        () =>
          h.handle.world.mintUserAccessToken({
            userObjectId: defaultIds.users.contosoAlice,
            appId: h.config.clientId,
            resource: h.config.environments[0]!.url,
          }),
        400,
      ],
      [
        'an access-token shape (scp, azpacr) with the right aud',
        (c) => keys.signJwt({ ...c, scp: 'x', azpacr: '0' }),
        400,
      ],
    ]
    for (const [name, replace, status] of cases) {
      const app = buildApp(h, { network: swapIdToken(h.network, replace) })
      const { response, cookies } = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com')
      expect(response.status, name).toBe(status)
      expect(await response.text(), name).not.toContain('eyJ')
      expect(cookies.cookies.has('session'), name).toBe(false)
    }
  })
})

describe('login CSRF', () => {
  it('an attacker’s own sign-in response, replayed into a victim’s browser, signs nobody in', async () => {
    const app = buildApp(h)
    // The attacker signs in as themself but stops before the app sees the callback.
    let attackerCallback = ''
    const attacker = jar()
    const flow = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com', attacker)
    attackerCallback = flow.callbackUrl ?? ''
    expect(attackerCallback).toContain('code=')
    // The victim has a sign-in of their own pending; the attacker lures them to the attacker's callback URL.
    const victim = jar()
    victim.store(await app.request(`${base}/auth/signin`))
    const res = await app.request(attackerCallback, { headers: { cookie: victim.cookie() } })
    victim.store(res)
    expect(res.status).toBe(400)
    expect(await res.text()).toContain('does not belong to this sign-in')
    const page = await app.request(`${base}/`, { headers: { cookie: victim.cookie() } })
    expect(await page.text()).not.toContain('Alice Anderson')
  })
})

describe('forms that are not valid UTF-8', () => {
  it('are refused with 400 and change nothing: raw bytes or percent-encoded, CSRF token in the form or in a header', async () => {
    const app = buildApp(h)
    const { cookies } = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com')
    const cookie = cookies.cookie()
    const csrf = csrfOf(await (await app.request(`${base}/`, { headers: { cookie } })).text())
    const form = 'application/x-www-form-urlencoded'
    const bytes = (...parts: (string | number[])[]) =>
      Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))))
    const attempts: [string, Record<string, string>, Buffer][] = [
      ['percent-encoded', { 'content-type': form }, bytes(`_csrf=${csrf}&environment=prod&note=%C3%28`)],
      ['raw bytes', { 'content-type': form }, bytes(`_csrf=${csrf}&environment=prod&note=`, [0xff, 0xfe])],
      ['in the value used', { 'content-type': form }, bytes(`_csrf=${csrf}&environment=prod%ED%A0%80`)],
      ['CSRF header', { 'content-type': form, 'x-csrf-token': csrf }, bytes('environment=prod&x=%FF')],
      [
        'multipart',
        { 'content-type': 'multipart/form-data; boundary=b' },
        bytes(
          `--b\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${csrf}\r\n`,
          '--b\r\nContent-Disposition: form-data; name="environment"\r\n\r\nprod\r\n',
          '--b\r\nContent-Disposition: form-data; name="note"\r\n\r\n',
          [0xc0, 0xaf],
          '\r\n--b--\r\n',
        ),
      ],
    ]
    for (const [what, headers, body] of attempts) {
      const res = await app.request(`${base}/environment`, {
        method: 'POST',
        headers: { cookie, origin: base, ...headers },
        body: new Uint8Array(body),
      })
      expect(res.status, what).toBe(400)
      expect(await res.text(), what).toContain('not valid UTF-8')
    }
    const html = await (await app.request(`${base}/`, { headers: { cookie } })).text()
    expect(html).toMatch(/data-testid="current-environment">dev</)
    const fine = await app.request(`${base}/environment`, {
      method: 'POST',
      headers: { cookie, origin: base, 'content-type': form },
      body: new URLSearchParams({ _csrf: csrf, environment: 'prod', note: 'Åsa 😀' }),
    })
    expect(fine.status).toBe(303)
  })
})

describe('HEAD changes nothing', () => {
  it('a HEAD of the sign-in callback (a link prefetcher) is 405: it redeems no code, starts no session and keeps the pending sign-in', async () => {
    const app = buildApp(h)
    let head: Response | undefined
    // The browser's GET of the callback comes right after a prefetcher's HEAD of the same address, cookies and all.
    const prefetched = {
      request: async (url: string, init?: RequestInit) => {
        if (new URL(url).pathname === '/auth/callback')
          head = await app.request(url, { ...init, method: 'HEAD' })
        return app.request(url, init)
      },
    } as unknown as typeof app
    const { response, cookies } = await signInOverHttp(prefetched, h, 'alice@contoso.onmicrosoft.com')
    expect(head?.status).toBe(405)
    expect(head?.headers.get('allow')).toBe('GET')
    expect(head?.headers.getSetCookie()).toEqual([])
    expect(head?.headers.get('cache-control')).toBe('no-store')
    expect(response.status).toBe(303)
    const page = await app.request(`${base}/`, { headers: { cookie: cookies.cookie() } })
    expect(await page.text()).toContain('Alice Anderson')
  })

  it('a HEAD of the sign-in link is 405 and sets no cookie, so it cannot replace a pending sign-in', async () => {
    const app = buildApp(h)
    const res = await app.request(`${base}/auth/signin`, { method: 'HEAD' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET')
    expect(res.headers.getSetCookie()).toEqual([])
    expect(res.headers.get('location')).toBeNull()
  })
})

describe('headers on every answer', () => {
  it('early refusals (413 from the headers, 403 CSRF) carry the security headers and no-store like pages', async () => {
    const app = buildApp(h)
    const answers = {
      '413 declared oversize': await app.request(`${base}/environment`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': String(1024 * 1024),
        },
        body: 'environment=prod',
      }),
      '403 cross-site form': await app.request(`${base}/auth/signout`, {
        method: 'POST',
        headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
        body: '_csrf=x',
      }),
      '404 page': await app.request(`${base}/nothing`),
    }
    for (const [what, res] of Object.entries(answers)) {
      expect(res.headers.get('cache-control'), what).toBe('no-store')
      expect(res.headers.get('content-security-policy'), what).toContain("frame-ancestors 'none'")
      expect(res.headers.get('x-content-type-options'), what).toBe('nosniff')
    }
  })
})

describe('over a real socket', () => {
  it('TRACE, PROPFIND and CONNECT never echo the session cookie, a 64 KB header gets 431, and the server keeps serving', async () => {
    const app = buildApp(h)
    const { cookies } = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com')
    const cookie = cookies.cookie()
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
    await once(server, 'listening')
    const port = (server.address() as { port: number }).port
    const send = (text: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(text))
        let out = ''
        socket.on('data', (d) => {
          out += d.toString('latin1')
        })
        socket.on('close', () => resolve(out))
        socket.on('error', () => resolve(out))
      })
    try {
      const secret = cookie.split('=').slice(1).join('=').split('.')[0] ?? ''
      expect(secret.length).toBeGreaterThan(20)
      for (const [method, target] of [
        ['TRACE', '/'],
        ['TRACE', '/auth/signout'],
        ['PROPFIND', '/'],
        ['CONNECT', 'evil.example:443'],
      ] as const) {
        const answer = await send(
          `${method} ${target} HTTP/1.1\r\nHost: localhost\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`,
        )
        expect(answer, `${method} ${target}`).not.toContain(secret)
        expect(answer, `${method} ${target}`).not.toMatch(/^HTTP\/1\.1 2\d\d/)
      }
      const big = await send(
        `GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\nConnection: close\r\n\r\n`,
      )
      expect(big).toMatch(/^HTTP\/1\.1 431/)
      const page = await send(
        `GET / HTTP/1.1\r\nHost: localhost\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`,
      )
      expect(page).toMatch(/^HTTP\/1\.1 200/)
      expect(page).toContain('Alice Anderson')
    } finally {
      server.close()
    }
  })
})

describe('paths, parameters and cookies', () => {
  it('encoded traversal and path tricks serve no file of the server', async () => {
    const app = buildApp(h)
    for (const path of [
      '/%2e%2e/package.json',
      '/..%2f..%2fpackage.json',
      '/app.css/..%2f..%2fpackage.json',
      '/%2e%2e%5c%2e%2e%5csrc%5capp.tsx',
      '/app.css%00.html',
      '/APP.CSS',
    ]) {
      const res = await app.request(`${base}${path}`)
      const text = await res.text()
      expect(res.status, path).toBe(404)
      expect(text, path).not.toMatch(/"name": "single-tenant"|import \{/)
    }
  })

  it('CR/LF and markup in the callback’s parameters add no header and no markup', async () => {
    const app = buildApp(h)
    const flow = jar()
    flow.store(await app.request(`${base}/auth/signin`))
    const res = await app.request(
      `${base}/auth/callback?error=x%0d%0aSet-Cookie:%20injected=1&error_description=%3Cscript%3Ealert(1)%3C/script%3E&state=x`,
      { headers: { cookie: flow.cookie() } },
    )
    expect(res.status).toBe(400)
    expect(res.headers.getSetCookie().some((c) => c.includes('injected'))).toBe(false)
    const html = await res.text()
    expect(html).not.toContain('<script>')
    expect(html).not.toContain('injected')
  })

  it('hostile session cookies (huge, repeated, another cookie’s value) sign nobody in and never fail the server', async () => {
    const app = buildApp(h)
    const { cookies } = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com')
    const session = cookies.cookies.get('session') ?? ''
    const flow = jar()
    flow.store(await app.request(`${base}/auth/signin`))
    const signin = flow.cookies.get('signin') ?? ''
    for (const cookie of [
      `session=${'a'.repeat(8000)}`,
      `session=${'x'.repeat(43)}.9999999999.${'y'.repeat(43)}`,
      `session=${signin}`,
      `signin=${session}; session=${signin}`,
      `session=%E0%A4%A; session=${'a'.repeat(30)}`,
    ]) {
      const res = await app.request(`${base}/`, { headers: { cookie } })
      expect([200, 401], cookie.slice(0, 60)).toContain(res.status)
      expect(await res.text(), cookie.slice(0, 60)).not.toContain('Alice Anderson')
    }
  })

  it('the environment and impersonation switches take only their own values, never a GET or a prototype name', async () => {
    const app = buildApp(h)
    const { cookies } = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com')
    const cookie = cookies.cookie()
    const csrf = csrfOf(await (await app.request(`${base}/`, { headers: { cookie } })).text())
    expect((await app.request(`${base}/impersonation?actAsUser=true`, { headers: { cookie } })).status).toBe(
      404,
    )
    expect((await app.request(`${base}/environment?environment=prod`, { headers: { cookie } })).status).toBe(
      404,
    )
    for (const environment of ['__proto__', 'constructor', 'toString', 'prod\r\n', 'PROD']) {
      const res = await app.request(`${base}/environment`, {
        method: 'POST',
        headers: { cookie, origin: base, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: csrf, environment }),
      })
      expect(res.status, environment).toBe(400)
    }
    const html = await (await app.request(`${base}/`, { headers: { cookie } })).text()
    expect(html).toMatch(/data-testid="current-environment">dev</)
    expect(html).toContain('the application user')
  })
})
