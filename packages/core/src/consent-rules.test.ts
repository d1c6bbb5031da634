import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { buildAdminConsentUrl, createConsentStateManager, parseAdminConsentRedirect } from './consent.ts'

// The rules of admin consent one by one, each named, so that loosening any of them fails a test
// (found by mutation testing: `pnpm mutate core`).

const secret = 's'.repeat(32)
const tenant = '11111111-2222-3333-4444-555555555555'
const clientId = '6e2f8c4a-1d3b-4e5f-a6b7-c8d9e0f1a2b3'
const b64 = (v: string | Buffer) => Buffer.from(v).toString('base64url')
/** A state signed with the right key but carrying any body: what a leaked key or a bug elsewhere could produce. */
const signed = (body: unknown) => {
  const payload = b64(JSON.stringify(body))
  return `${payload}.${b64(createHmac('sha256', Buffer.from(secret)).update(payload).digest())}`
}

describe('buildAdminConsentUrl rules', () => {
  it('needs the client id', () => {
    expect(() => buildAdminConsentUrl({ clientId: '', resource: 'https://o.crm.dynamics.com' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/clientId/) }),
    )
  })

  it.each(['a/b', '../x', 'x?y', 'x#y', 'ten ant', ''])(
    'refuses the tenant %j (it is put in the URL path)',
    (t) => {
      expect(() =>
        buildAdminConsentUrl({ clientId, tenant: t, resource: 'https://o.crm.dynamics.com' }),
      ).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/tenant/) }),
      )
    },
  )

  it('refuses common on v2 in any case, but accepts it on v1 (its default)', () => {
    for (const t of ['common', 'COMMON', 'Common']) {
      expect(() => buildAdminConsentUrl({ clientId, tenant: t, scopes: ['x/.default'] })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/organizations/) }),
      )
    }
    const v1 = new URL(buildAdminConsentUrl({ clientId, version: 'v1' }))
    expect(v1.pathname).toBe('/common/adminconsent')
    expect(v1.searchParams.has('scope')).toBe(false)
  })

  it('defaults to organizations on v2, and puts the tenant, scopes, redirect and state where Entra reads them', () => {
    const plain = new URL(buildAdminConsentUrl({ clientId, scopes: ['https://a/.default', 'openid'] }))
    expect(plain.origin).toBe('https://login.microsoftonline.com')
    expect(plain.pathname).toBe('/organizations/v2.0/adminconsent')
    expect(plain.searchParams.get('client_id')).toBe(clientId)
    expect(plain.searchParams.get('scope')).toBe('https://a/.default openid')
    expect(plain.searchParams.has('redirect_uri')).toBe(false)
    expect(plain.searchParams.has('state')).toBe(false)
    const full = new URL(
      buildAdminConsentUrl({
        clientId,
        tenant,
        resource: 'https://o.crm.dynamics.com/some/path',
        redirectUri: 'https://app/cb',
        state: 'st',
      }),
    )
    expect(full.pathname).toBe(`/${tenant}/v2.0/adminconsent`)
    expect(full.searchParams.get('scope')).toBe('https://o.crm.dynamics.com/.default')
    expect(full.searchParams.get('redirect_uri')).toBe('https://app/cb')
    expect(full.searchParams.get('state')).toBe('st')
  })

  it('refuses v2 without scopes or a resource, and with an empty scope list', () => {
    for (const options of [{ clientId }, { clientId, scopes: [] }]) {
      expect(() => buildAdminConsentUrl(options)).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/scopes/) }),
      )
    }
  })
})

describe('consent state rules', () => {
  it('accepts a 32-byte secret given as bytes or text, and refuses 31', () => {
    expect(() => createConsentStateManager({ secret: new Uint8Array(32) })).not.toThrow()
    expect(() => createConsentStateManager({ secret: new Uint8Array(31) })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/32 bytes/) }),
    )
    // 16 two-byte characters are 32 bytes of UTF-8
    expect(() => createConsentStateManager({ secret: 'é'.repeat(16) })).not.toThrow()
    expect(() => createConsentStateManager({ secret: 'x'.repeat(31) })).toThrow()
  })

  it('refuses to create a state bound to no session', () => {
    const states = createConsentStateManager({ secret })
    expect(() => states.create('')).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/session/) }),
    )
  })

  it.each([
    ['no dot', 'abc'],
    ['empty payload', '.abc'],
    ['empty mac', 'abc.'],
    ['three parts', 'a.b.c'],
  ])('refuses a state with %s as malformed before checking anything else', async (_name, state) => {
    const states = createConsentStateManager({ secret })
    await expect(states.verify(state, 's')).rejects.toMatchObject({
      code: 'INVALID_STATE',
      message: expect.stringMatching(/missing or malformed/),
    })
  })

  it('refuses a state whose MAC is right but whose body is not what it issues', async () => {
    const states = createConsentStateManager({ secret })
    const future = Date.now() + 60_000
    const sessionHash = b64(
      (await import('node:crypto')).createHash('sha256').update('dvs2s-session:s').digest(),
    )
    const bodies = [
      { s: sessionHash, e: future },
      { n: 'n', e: future },
      { n: 'n', s: sessionHash },
      { n: 1, s: sessionHash, e: future },
      { n: 'n', s: 1, e: future },
      { n: 'n', s: sessionHash, e: String(future) },
    ]
    for (const body of bodies) {
      await expect(states.verify(signed(body), 's')).rejects.toMatchObject({
        code: 'INVALID_STATE',
        message: expect.stringMatching(/malformed/),
      })
    }
    await expect(states.verify(`${b64('not json')}.${signed({}).split('.')[1]}`, 's')).rejects.toMatchObject({
      code: 'INVALID_STATE',
    })
    const notJson = b64('{not json')
    const mac = b64(createHmac('sha256', Buffer.from(secret)).update(notJson).digest())
    await expect(states.verify(`${notJson}.${mac}`, 's')).rejects.toMatchObject({
      code: 'INVALID_STATE',
      message: expect.stringMatching(/malformed/),
    })
    // and the same well-formed body verifies, so the refusals above are about the fields
    await expect(states.verify(signed({ n: 'n', s: sessionHash, e: future }), 's')).resolves.toMatchObject({
      expiresAt: new Date(future),
    })
  })

  it('expires exactly at its expiry time, not a millisecond later', async () => {
    let now = 0
    const states = createConsentStateManager({ secret, ttlMs: 1000, now: () => now })
    const state = states.create('s')
    now = 999
    await expect(states.verify(state, 's')).resolves.toMatchObject({ expiresAt: new Date(1000) })
    const other = states.create('s')
    now = 1999
    await expect(states.verify(other, 's')).rejects.toMatchObject({
      code: 'STATE_EXPIRED',
      message: expect.stringMatching(/expired/),
    })
  })

  it('defaults to a 10-minute life', async () => {
    let now = 0
    const states = createConsentStateManager({ secret, now: () => now })
    const a = states.create('s')
    const b = states.create('s')
    now = 10 * 60_000 - 1
    await expect(states.verify(a, 's')).resolves.toBeDefined()
    now = 10 * 60_000
    await expect(states.verify(b, 's')).rejects.toMatchObject({ code: 'STATE_EXPIRED' })
  })

  it('refuses a state verified without the session that created it, saying to start from this browser', async () => {
    const states = createConsentStateManager({ secret })
    await expect(states.verify(states.create('s'), undefined as unknown as string)).rejects.toMatchObject({
      code: 'STATE_SESSION_MISMATCH',
      message: expect.stringMatching(/browser/),
    })
    await expect(states.verify(states.create('s'), 's2')).rejects.toMatchObject({
      code: 'STATE_SESSION_MISMATCH',
    })
  })

  it('says a reused state was already used', async () => {
    const states = createConsentStateManager({ secret })
    const state = states.create('s')
    await states.verify(state, 's')
    await expect(states.verify(state, 's')).rejects.toMatchObject({
      code: 'STATE_REUSED',
      message: expect.stringMatching(/already used/),
    })
  })

  it('returns no data when none was stored', async () => {
    const states = createConsentStateManager({ secret })
    const r = await states.verify(states.create('s'), 's')
    expect(r).not.toHaveProperty('data')
  })
})

describe('parseAdminConsentRedirect rules', () => {
  const states = createConsentStateManager({ secret })
  const ok = (state: string) => `admin_consent=True&tenant=${tenant}&state=${state}`

  it('reads the redirect as a full URL, a URL, a query with or without "?", or URLSearchParams', async () => {
    const inputs = (s: () => string) => [
      `https://app/cb?${ok(s())}`,
      new URL(`https://app/cb?${ok(s())}`),
      `?${ok(s())}`,
      ok(s()),
      new URLSearchParams(ok(s())),
    ]
    for (const input of inputs(() => states.create('s'))) {
      await expect(parseAdminConsentRedirect(input, { states, sessionId: 's' })).resolves.toMatchObject({
        tenantId: tenant,
        scopes: [],
      })
    }
  })

  it.each([`x${tenant}`, `${tenant}x`, tenant.slice(1), `${tenant}\n`, `{${tenant}}`])(
    'refuses the tenant %j: only a whole GUID',
    async (t) => {
      await expect(
        parseAdminConsentRedirect(
          new URLSearchParams({ admin_consent: 'True', tenant: t, state: states.create('s') }),
          { states, sessionId: 's' },
        ),
      ).rejects.toMatchObject({ code: 'INVALID_CALLBACK', message: expect.stringMatching(/tenant GUID/) })
    },
  )

  it('accepts admin_consent in any case, refuses any other value', async () => {
    for (const v of ['true', 'TRUE']) {
      await expect(
        parseAdminConsentRedirect(`admin_consent=${v}&tenant=${tenant}&state=${states.create('s')}`, {
          states,
          sessionId: 's',
        }),
      ).resolves.toMatchObject({ tenantId: tenant })
    }
    for (const v of ['false', 'yes', '']) {
      await expect(
        parseAdminConsentRedirect(`admin_consent=${v}&tenant=${tenant}&state=${states.create('s')}`, {
          states,
          sessionId: 's',
        }),
      ).rejects.toMatchObject({
        code: 'INVALID_CALLBACK',
        message: expect.stringMatching(/admin_consent=True/),
      })
    }
  })

  it('splits echoed scopes on any whitespace and drops empty ones', async () => {
    const r = await parseAdminConsentRedirect(
      new URLSearchParams({
        admin_consent: 'True',
        tenant,
        state: states.create('s'),
        scope: '  https://a/.default   openid\tprofile ',
      }),
      { states, sessionId: 's' },
    )
    expect(r.scopes).toEqual(['https://a/.default', 'openid', 'profile'])
  })

  it('says what each consent error means and what to do, keeping at most 500 characters of the description', async () => {
    const cases = [
      ['access_denied', /declined/],
      ['consent_required', /still required/],
      ['temporarily_unavailable', /"temporarily_unavailable"/],
    ] as const
    for (const [error, meaning] of cases) {
      const e = (await parseAdminConsentRedirect(
        new URLSearchParams({ error, error_description: 'd'.repeat(600), state: states.create('s') }),
        { states, sessionId: 's' },
      ).catch((x: unknown) => x)) as { message: string; description: string }
      expect(e.message).toMatch(meaning)
      expect(e.message).toMatch(/administrator/)
      expect(e.description).toBe('d'.repeat(500))
    }
    const bare = (await parseAdminConsentRedirect(
      new URLSearchParams({ error: 'x', state: states.create('s') }),
      {
        states,
        sessionId: 's',
      },
    ).catch((x: unknown) => x)) as { description: string }
    expect(bare.description).toBe('')
  })
})
