import { type UserTokenVerifier, VerificationError, type VerifiedUser } from '@dataverse-s2s/core'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import type { DenialEvent } from './verify-user.ts'
import { verifyUser } from './verify-user.ts'

// verifyUser's contract rule by rule, with a stand-in verifier, so each refusal and each mapping is pinned
// (found by mutation testing: `pnpm mutate hono`). The real verifier against the emulator is in index.test.ts.

const user = { objectId: 'o', tenantId: 't', name: 'n' } as unknown as VerifiedUser

function appWith(verify: (token: string) => Promise<VerifiedUser>) {
  const seen: string[] = []
  const denied: DenialEvent[] = []
  const verifier = {
    verify: async (token: string) => {
      seen.push(token)
      return verify(token)
    },
  } as unknown as UserTokenVerifier
  const app = new Hono()
  app.use('/api/*', verifyUser({ verifier, onDenied: (e) => denied.push(e) }))
  app.get('/api/me', (c) => c.json({ user: c.var.user.objectId }))
  app.onError((err, c) => c.json({ error: { code: 'internal', message: err.message } }, 500))
  const call = (authorization?: string) =>
    app.request('/api/me', authorization === undefined ? {} : { headers: { Authorization: authorization } })
  return { call, seen, denied }
}

describe('verifyUser: the Authorization header', () => {
  it.each(['Bearer abc.def.ghi', 'bearer abc.def.ghi', 'BEARER abc.def.ghi', 'Bearer    abc.def.ghi'])(
    'takes the token from %j',
    async (header) => {
      const { call, seen } = appWith(async () => user)
      expect((await call(header)).status).toBe(200)
      expect(seen).toEqual(['abc.def.ghi'])
    },
  )

  it('keeps b64token padding and its punctuation (RFC 6750)', async () => {
    const { call, seen } = appWith(async () => user)
    expect((await call('Bearer a-b_c.d~e+f/g==')).status).toBe(200)
    expect(seen).toEqual(['a-b_c.d~e+f/g=='])
  })

  it.each([
    'xBearer abc',
    'Bearer abc def',
    'Bearer abc,def',
    'Bearerabc',
    'Bearer ',
    'Basic YWJjOmRlZg==',
    'Bearer abc=def',
    'Token Bearer abc',
  ])('refuses %j as a missing token without calling the verifier', async (header) => {
    const { call, seen, denied } = appWith(async () => user)
    const res = await call(header)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer')
    expect(await res.json()).toEqual({
      error: {
        code: 'missing_token',
        message: 'Sign in first: this API needs an access token in the Authorization header.',
      },
    })
    expect(seen).toEqual([])
    expect(denied).toEqual([{ status: 401, code: 'missing_token', path: '/api/me' }])
  })

  it('refuses a request without the header', async () => {
    const { call, denied } = appWith(async () => user)
    expect((await call()).status).toBe(401)
    expect(denied).toEqual([{ status: 401, code: 'missing_token', path: '/api/me' }])
  })
})

describe('verifyUser: refusals by verification error', () => {
  it.each([
    ['INSUFFICIENT_SCOPE', 403, 'insufficient_scope', 'Bearer error="insufficient_scope"', /scope/],
    ['TENANT_NOT_ALLOWED', 403, 'tenant_not_onboarded', null, /not connected/],
    ['JWKS_UNAVAILABLE', 503, 'verification_unavailable', null, /try again/],
    ['TOKEN_EXPIRED', 401, 'token_expired', 'Bearer error="invalid_token"', /expired/],
    ['INVALID_SIGNATURE', 401, 'invalid_token', 'Bearer error="invalid_token"', /not valid/],
    ['INVALID_AUDIENCE', 401, 'invalid_token', 'Bearer error="invalid_token"', /not valid/],
  ] as const)('%s answers %i %s', async (code, status, body, challenge, message) => {
    const { call, denied } = appWith(async () => {
      throw new VerificationError(code, 'the verifier says: secret-detail')
    })
    const res = await call('Bearer abc')
    expect(res.status).toBe(status)
    expect(res.headers.get('www-authenticate')).toBe(challenge)
    const json = (await res.json()) as { error: { code: string; message: string } }
    expect(json.error.code).toBe(body)
    expect(json.error.message).toMatch(message)
    // the reason a token failed is not echoed beyond its code
    expect(json.error.message).not.toContain('secret-detail')
    expect(denied).toEqual([{ status, code: body, path: '/api/me' }])
  })

  it('lets an error that is not a verification error through to the app', async () => {
    const { call, denied } = appWith(async () => {
      throw new TypeError('bug')
    })
    const res = await call('Bearer abc')
    expect(res.status).toBe(500)
    expect(denied).toEqual([])
  })

  it('needs a verifier with a verify function', () => {
    for (const bad of [undefined, {}, { verifier: {} }, { verifier: { verify: 1 } }]) {
      expect(() => verifyUser(bad as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/verifier/) }),
      )
    }
  })

  it('works without onDenied', async () => {
    const verifier = { verify: async () => user } as unknown as UserTokenVerifier
    const app = new Hono()
    app.use('/api/*', verifyUser({ verifier }))
    app.get('/api/me', (c) => c.text('ok'))
    expect((await app.request('/api/me')).status).toBe(401)
    expect((await app.request('/api/me', { headers: { Authorization: 'Bearer x' } })).status).toBe(200)
  })
})
