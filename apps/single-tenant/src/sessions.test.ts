import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { createMemoryStore, type SessionData } from './session.ts'
import { createSessions, csrfProtection, type SessionVariables } from './sessions.ts'

const secret = 'a-test-secret-that-is-long-enough-0123456789'
const origin = 'http://app.test'

function setup(options: { secure?: boolean; secrets?: string[] } = {}) {
  let clock = Date.UTC(2026, 0, 1)
  const store = createMemoryStore<SessionData>({ now: () => clock })
  const sessions = createSessions({
    secrets: options.secrets ?? [secret],
    store,
    secure: options.secure ?? false,
    idleTimeoutMs: 30 * 60_000,
    absoluteTimeoutMs: 8 * 60 * 60_000,
    now: () => clock,
  })
  const app = new Hono<{ Variables: SessionVariables }>()
  app.use(sessions.middleware)
  app.use(csrfProtection(origin))
  app.get('/login', async (c) => {
    const s = await sessions.start(c, {
      user: { objectId: 'o', tenantId: 't', name: 'Ann', username: 'ann@x' },
    })
    return c.text(s.csrfToken)
  })
  app.get('/me', (c) =>
    c.json({ user: c.get('session')?.user?.name ?? null, rejected: c.get('sessionRejected') ?? null }),
  )
  app.post('/logout', async (c) => {
    await sessions.destroy(c)
    return c.text('bye')
  })
  app.post('/change', (c) => c.text('changed'))
  const advance = (ms: number) => {
    clock += ms
  }
  return { app, sessions, advance, store }
}

function cookieFrom(res: Response): string {
  const header = res.headers.get('set-cookie') ?? ''
  const pair = header.split(';')[0] ?? ''
  return pair
}

async function login(app: Hono<{ Variables: SessionVariables }>) {
  const res = await app.request('/login')
  return { cookie: cookieFrom(res), csrf: await res.text(), setCookie: res.headers.get('set-cookie') ?? '' }
}

const me = async (app: Hono<{ Variables: SessionVariables }>, cookie: string) =>
  (await app.request('/me', { headers: { cookie } })).json()

describe('session cookies', () => {
  it('accepts the cookie it issued, httpOnly and SameSite=Lax', async () => {
    const { app } = setup()
    const { cookie, setCookie } = await login(app)
    expect(setCookie).toMatch(/HttpOnly/)
    expect(setCookie).toMatch(/SameSite=Lax/)
    expect(setCookie).not.toMatch(/Secure/)
    expect(await me(app, cookie)).toEqual({ user: 'Ann', rejected: null })
  })

  it('uses Secure and the __Host- prefix over https', async () => {
    const { app } = setup({ secure: true })
    const { setCookie, cookie } = await login(app)
    expect(setCookie).toMatch(/^__Host-session=/)
    expect(setCookie).toMatch(/Secure/)
    expect(setCookie).toMatch(/Path=\//)
    expect(setCookie).not.toMatch(/Domain=/)
    expect(await me(app, cookie)).toEqual({ user: 'Ann', rejected: null })
  })

  it('refuses a tampered cookie: changed id, changed expiry, changed signature, or another secret', async () => {
    const { app } = setup()
    const { cookie } = await login(app)
    const [name, value] = cookie.split('=') as [string, string]
    const [id, exp, sig] = value.split('.') as [string, string, string]
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1)
    for (const forged of [
      `${flip(id)}.${exp}.${sig}`,
      `${id}.${Number(exp) + 3600}.${sig}`,
      `${id}.${exp}.${flip(sig)}`,
      `${id}.${exp}`,
      'garbage',
    ]) {
      const body = await me(app, `${name}=${forged}`)
      expect(body.user).toBeNull()
      expect(['bad-signature', 'malformed']).toContain(body.rejected)
    }
    // The last of 43 base64url characters carries two spare bits; a second spelling of the signature must not pass.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const last = alphabet.indexOf(sig.at(-1)!)
    const respelled = `${id}.${exp}.${sig.slice(0, -1)}${alphabet[last ^ 1]}`
    expect(Buffer.from(respelled.split('.')[2]!, 'base64url')).toEqual(Buffer.from(sig, 'base64url'))
    expect(await me(app, `${name}=${respelled}`)).toEqual({ user: null, rejected: 'bad-signature' })
    const other = setup({ secrets: ['another-secret-that-is-long-enough-9876543210'] })
    const foreign = await login(other.app)
    expect(await me(app, foreign.cookie)).toEqual({ user: null, rejected: 'bad-signature' })
  })

  it('verifies cookies signed with an older secret after rotation', async () => {
    const old = setup()
    const { cookie } = await login(old.app)
    const rotated = setup({ secrets: ['the-new-secret-that-is-long-enough-000000', secret] })
    // Same store contents are needed for the id to be known: copy the session across.
    const id = cookie.split('=')[1]!.split('.')[0]!
    const stored = await old.store.get(id)
    await rotated.store.set(id, stored!, 60_000)
    expect(await me(rotated.app, cookie)).toEqual({ user: 'Ann', rejected: null })
  })

  it('refuses an expired cookie (absolute lifetime) and one idle for too long', async () => {
    const { app, advance } = setup()
    const first = await login(app)
    for (let i = 0; i < 19; i++) {
      advance(25 * 60_000)
      expect((await me(app, first.cookie)).user).toBe('Ann')
    }
    advance(25 * 60_000)
    expect(await me(app, first.cookie)).toEqual({ user: null, rejected: 'expired' })

    const second = await login(app)
    advance(31 * 60_000)
    expect(await me(app, second.cookie)).toEqual({ user: null, rejected: 'expired' })
    advance(-31 * 60_000)
    expect(await me(app, second.cookie)).toEqual({ user: null, rejected: 'unknown-session' })
  })

  it('refuses a cookie replayed after sign-out', async () => {
    const { app } = setup()
    const { cookie, csrf } = await login(app)
    const out = await app.request('/logout', {
      method: 'POST',
      headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf }),
    })
    expect(out.status).toBe(200)
    expect(out.headers.get('set-cookie')).toMatch(/session=;/)
    expect(await me(app, cookie)).toEqual({ user: null, rejected: 'unknown-session' })
  })

  it('rotates the id at sign-in, so the cookie from before sign-in is dead', async () => {
    const { app } = setup()
    const before = await login(app)
    const res = await app.request('/login', { headers: { cookie: before.cookie } })
    const after = cookieFrom(res)
    expect(after).not.toBe(before.cookie)
    expect((await me(app, after)).user).toBe('Ann')
    expect(await me(app, before.cookie)).toEqual({ user: null, rejected: 'unknown-session' })
  })

  it('refuses a value copied from one cookie name into another', async () => {
    const { app } = setup()
    const { cookie } = await login(app)
    const secure = setup({ secure: true })
    const value = cookie.split('=')[1]!
    expect((await me(secure.app, `__Host-session=${value}`)).rejected).toBe('bad-signature')
  })
})

describe('CSRF protection', () => {
  const post = (
    app: Hono<{ Variables: SessionVariables }>,
    headers: Record<string, string>,
    body?: Record<string, string>,
  ) =>
    app.request('/change', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(body ?? {}),
    })

  it('lets a same-origin form with the session token through', async () => {
    const { app } = setup()
    const { cookie, csrf } = await login(app)
    const res = await post(app, { cookie, origin }, { _csrf: csrf })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('changed')
    const header = await app.request('/change', { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } })
    expect(header.status).toBe(200)
  })

  it('blocks a form without a token, with a wrong token, or with another session token', async () => {
    const { app } = setup()
    const { cookie, csrf } = await login(app)
    const other = await login(app)
    expect((await post(app, { cookie, origin })).status).toBe(403)
    expect((await post(app, { cookie, origin }, { _csrf: `${csrf}x` })).status).toBe(403)
    expect((await post(app, { cookie, origin }, { _csrf: other.csrf })).status).toBe(403)
  })

  it('blocks a cross-site form even when it carries the right token', async () => {
    const { app } = setup()
    const { cookie, csrf } = await login(app)
    expect((await post(app, { cookie, origin: 'https://evil.test' }, { _csrf: csrf })).status).toBe(403)
    expect((await post(app, { cookie, 'sec-fetch-site': 'cross-site' }, { _csrf: csrf })).status).toBe(403)
    expect((await post(app, { cookie, origin: 'null' }, { _csrf: csrf })).status).toBe(403)
  })

  it('blocks a state change without a session', async () => {
    const { app } = setup()
    const { csrf } = await login(app)
    expect((await post(app, { origin }, { _csrf: csrf })).status).toBe(403)
  })
})
