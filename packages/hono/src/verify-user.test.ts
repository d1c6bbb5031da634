import { type UserTokenVerifier, VerificationError, type VerificationErrorCode } from '@dataverse-s2s/core'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { verifyUser } from './verify-user.ts'

function appRefusing(code: VerificationErrorCode) {
  const verifier: UserTokenVerifier = {
    verify: async () => {
      throw new VerificationError(code, 'refused')
    },
  }
  const app = new Hono()
  app.get('/x', verifyUser({ verifier }), (c) => c.text('ok'))
  return app
}

describe('verifyUser maps the verifier’s refusals', () => {
  it.each([
    ['TOKEN_EXPIRED', 401, 'token_expired'],
    ['TOKEN_TOO_OLD', 401, 'token_expired'],
    ['WRONG_TOKEN_TYPE', 401, 'invalid_token'],
    ['TOKEN_NOT_YET_VALID', 401, 'invalid_token'],
    ['INVALID_AUDIENCE', 401, 'invalid_token'],
    ['INSUFFICIENT_SCOPE', 403, 'insufficient_scope'],
    ['TENANT_NOT_ALLOWED', 403, 'tenant_not_onboarded'],
    ['JWKS_UNAVAILABLE', 503, 'verification_unavailable'],
  ] as const)('%s → %i %s', async (code, status, answer) => {
    const res = await appRefusing(code).request('/x', { headers: { Authorization: 'Bearer a.b.c' } })
    expect(res.status).toBe(status)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(answer)
  })
})
