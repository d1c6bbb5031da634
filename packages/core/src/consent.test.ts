import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  buildAdminConsentUrl,
  createConsentStateManager,
  createMemoryStateStore,
  parseAdminConsentRedirect,
} from './consent.ts'
import { ConsentError } from './errors.ts'

const secret = 'x'.repeat(32)
const tenant = '11111111-2222-3333-4444-555555555555'

describe('buildAdminConsentUrl', () => {
  it('builds the v2 URL with a .default scope from the org URL', () => {
    const url = new URL(
      buildAdminConsentUrl({
        clientId: 'app',
        redirectUri: 'https://app.example/consent/callback',
        state: 's1',
        resource: 'https://contoso.crm.dynamics.com/',
      }),
    )
    expect(url.origin + url.pathname).toBe(
      'https://login.microsoftonline.com/organizations/v2.0/adminconsent',
    )
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: 'app',
      scope: 'https://contoso.crm.dynamics.com/.default',
      redirect_uri: 'https://app.example/consent/callback',
      state: 's1',
    })
  })

  it('builds the v1 URL and honours cloud and tenant hint', () => {
    const url = new URL(buildAdminConsentUrl({ clientId: 'app', version: 'v1', tenant, cloud: 'gcc-high' }))
    expect(url.origin + url.pathname).toBe(`https://login.microsoftonline.us/${tenant}/adminconsent`)
    expect(url.searchParams.has('scope')).toBe(false)
  })

  it('refuses common on v2 and v2 without scopes', () => {
    expect(() => buildAdminConsentUrl({ clientId: 'a', tenant: 'common', scopes: ['x'] })).toThrow(
      ConsentError,
    )
    expect(() => buildAdminConsentUrl({ clientId: 'a' })).toThrow(/scopes/)
    expect(() => buildAdminConsentUrl({ clientId: 'a', tenant: '../x', scopes: ['s'] })).toThrow(ConsentError)
  })
})

describe('consent state', () => {
  it('verifies once, bound to the session, and carries data', async () => {
    const states = createConsentStateManager({ secret })
    const state = states.create('session-1', '/done')
    await expect(states.verify(state, 'session-2')).rejects.toMatchObject({ code: 'STATE_SESSION_MISMATCH' })
    await expect(states.verify(state, 'session-1')).resolves.toMatchObject({ data: '/done' })
    await expect(states.verify(state, 'session-1')).rejects.toMatchObject({ code: 'STATE_REUSED' })
  })

  it('keeps every unexpired state used however many are stored (a pruned one could be replayed)', async () => {
    const store = createMemoryStateStore()
    const later = Date.now() + 3_600_000
    expect(await store.consume('first', later)).toBe(true)
    for (let i = 0; i < 1_500; i++) expect(await store.consume(`id-${i}`, later)).toBe(true)
    expect(await store.consume('first', later)).toBe(false)
    expect(await store.consume('id-1499', later)).toBe(false)
  })

  it('forgets expired states once it holds many, and only those', async () => {
    const store = createMemoryStateStore()
    const past = Date.now() - 1
    const later = Date.now() + 3_600_000
    for (let i = 0; i < 1_001; i++) await store.consume(`old-${i}`, past)
    await store.consume('keep', later)
    await store.consume('trigger', later)
    // An expired id is forgotten (its state would be refused as expired anyway); an unexpired one never is.
    expect(await store.consume('old-0', later)).toBe(true)
    expect(await store.consume('keep', later)).toBe(false)
  })

  it('expires', async () => {
    let now = 0
    const states = createConsentStateManager({ secret, ttlMs: 1000, now: () => now })
    const state = states.create('s')
    now = 1000
    await expect(states.verify(state, 's')).rejects.toMatchObject({ code: 'STATE_EXPIRED' })
  })

  it('refuses states signed with another key, tampered or malformed', async () => {
    const states = createConsentStateManager({ secret })
    const other = createConsentStateManager({ secret: 'y'.repeat(32) })
    await expect(states.verify(other.create('s'), 's')).rejects.toMatchObject({ code: 'INVALID_STATE' })
    const good = states.create('s')
    const [p, m] = good.split('.') as [string, string]
    const body = JSON.parse(Buffer.from(p, 'base64url').toString())
    body.e = Date.now() + 10 ** 9
    const forged = `${Buffer.from(JSON.stringify(body)).toString('base64url')}.${m}`
    await expect(states.verify(forged, 's')).rejects.toMatchObject({ code: 'INVALID_STATE' })
    await expect(states.verify('', 's')).rejects.toMatchObject({ code: 'INVALID_STATE' })
    // Another spelling of the same MAC bytes (spare bits of the last character, a stray character) is refused.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const respelled = `${m.slice(0, -1)}${alphabet[alphabet.indexOf(m.at(-1)!) ^ 1]}`
    expect(Buffer.from(respelled, 'base64url')).toEqual(Buffer.from(m, 'base64url'))
    for (const spelling of [respelled, `${m}!`, `${m.slice(0, 5)}*${m.slice(5)}`]) {
      await expect(states.verify(`${p}.${spelling}`, 's')).rejects.toMatchObject({ code: 'INVALID_STATE' })
    }
    await expect(states.verify(good, 's')).resolves.toBeDefined()
  })

  it('never accepts arbitrary strings (property)', async () => {
    const states = createConsentStateManager({ secret })
    await fc.assert(
      fc.asyncProperty(fc.string(), async (s) => {
        await expect(states.verify(s, 'sess')).rejects.toBeInstanceOf(ConsentError)
      }),
      { numRuns: 200 },
    )
  })

  it('needs a 32-byte secret', () => {
    expect(() => createConsentStateManager({ secret: 'short' })).toThrow(ConsentError)
  })
})

describe('parseAdminConsentRedirect', () => {
  const states = createConsentStateManager({ secret })

  it('returns the tenant on success', async () => {
    const state = states.create('s', 'back')
    const r = await parseAdminConsentRedirect(
      `https://app/cb?admin_consent=True&tenant=${tenant.toUpperCase()}&state=${state}&scope=https%3A%2F%2Forg%2F.default`,
      { states, sessionId: 's' },
    )
    expect(r).toEqual({ tenantId: tenant, scopes: ['https://org/.default'], data: 'back' })
  })

  it.each([
    ['access_denied', 'CONSENT_DENIED'],
    ['permission_denied', 'CONSENT_DENIED'],
    ['consent_required', 'CONSENT_REQUIRED'],
    ['server_error', 'CONSENT_FAILED'],
  ])('turns error=%s into %s', async (error, code) => {
    const state = states.create('s')
    await expect(
      parseAdminConsentRedirect(new URLSearchParams({ error, error_description: 'AADSTS65004: no', state }), {
        states,
        sessionId: 's',
      }),
    ).rejects.toMatchObject({ code, oauthError: error })
  })

  it('checks the state before anything else, and requires admin_consent and a tenant GUID', async () => {
    await expect(
      parseAdminConsentRedirect(`admin_consent=True&tenant=${tenant}&state=forged.x`, {
        states,
        sessionId: 's',
      }),
    ).rejects.toMatchObject({ code: 'INVALID_STATE' })
    await expect(
      parseAdminConsentRedirect(`?tenant=${tenant}&state=${states.create('s')}`, { states, sessionId: 's' }),
    ).rejects.toMatchObject({ code: 'INVALID_CALLBACK' })
    await expect(
      parseAdminConsentRedirect(`admin_consent=True&tenant=evil&state=${states.create('s')}`, {
        states,
        sessionId: 's',
      }),
    ).rejects.toMatchObject({ code: 'INVALID_CALLBACK' })
  })
})
