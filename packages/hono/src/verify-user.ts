import { isCoreError, type UserTokenVerifier, type VerificationErrorCode } from '@dataverse-s2s/core'
import type { Context, MiddlewareHandler } from 'hono'
import { errorResponse, HonoS2SError } from './errors.ts'

/** A line about a refused request. Holds codes and ids, never the token. */
export interface DenialEvent {
  status: number
  code: string
  tenantId?: string
  objectId?: string
  path: string
}

/** Options of {@link verifyUser}. */
export interface VerifyUserOptions {
  /** The verifier of your API's access tokens (`createUserTokenVerifier` from `@dataverse-s2s/core`). */
  verifier: UserTokenVerifier
  /** Called for every refused request (for your logs or metrics); never receives the token. */
  onDenied?: (event: DenialEvent, c: Context) => void
}

// RFC 6750 §2.1 (b64token); the scheme name is case-insensitive (RFC 9110 §11.1).
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i

// RFC 6750 §3.1: invalid_token → 401, insufficient_scope → 403; a tenant that is not onboarded is authenticated
// but not authorised, so 403 too.
function statusFor(code: VerificationErrorCode | string): {
  status: 401 | 403 | 503
  oauth: string
  code: string
} {
  switch (code) {
    case 'INSUFFICIENT_SCOPE':
      return { status: 403, oauth: 'insufficient_scope', code: 'insufficient_scope' }
    case 'TENANT_NOT_ALLOWED':
      return { status: 403, oauth: '', code: 'tenant_not_onboarded' }
    case 'JWKS_UNAVAILABLE':
      return { status: 503, oauth: '', code: 'verification_unavailable' }
    case 'TOKEN_EXPIRED':
    case 'TOKEN_TOO_OLD':
      return { status: 401, oauth: 'invalid_token', code: 'token_expired' }
    default:
      return { status: 401, oauth: 'invalid_token', code: 'invalid_token' }
  }
}

const MESSAGES: Record<string, string> = {
  insufficient_scope:
    'The access token lacks the scope this API requires: request a token for the API’s scope.',
  tenant_not_onboarded:
    'Your organization is not connected to this app yet: ask your administrator to connect it (onboarding).',
  verification_unavailable: 'Sign-in cannot be checked right now: try again in a moment.',
  token_expired: 'Your session has expired: sign in again.',
  invalid_token: 'The access token is not valid for this API: sign in again.',
}

/**
 * Middleware that verifies the `Authorization: Bearer` access token of your API's caller and stores the user in
 * `c.var.user`. A missing or invalid token gets 401 with `WWW-Authenticate: Bearer` (RFC 6750); a token without the
 * required scope, or from a tenant your verifier's allow-list refuses, gets 403. Bodies are
 * `{ error: { code, message } }`; the reason a token failed is not echoed beyond its code.
 * @param options - see {@link VerifyUserOptions}
 * @throws HonoS2SError `INVALID_OPTIONS` when no verifier is given
 * @example
 * const verifier = createUserTokenVerifier({ audience, isTenantAllowed, requiredScopes: ['access_as_user'] })
 * app.use('/api/*', verifyUser({ verifier }))
 * app.get('/api/me', (c) => c.json({ name: c.var.user.name }))
 */
export function verifyUser(options: VerifyUserOptions): MiddlewareHandler {
  if (!options?.verifier || typeof options.verifier.verify !== 'function') {
    throw new HonoS2SError(
      'INVALID_OPTIONS',
      'verifyUser needs a verifier (createUserTokenVerifier from core)',
    )
  }
  const { verifier, onDenied } = options
  return async function verifyUserMiddleware(c, next) {
    const header = c.req.header('Authorization')
    // Stryker disable next-line MethodExpression: equivalent, the Fetch Headers class already strips a value's outer whitespace
    const match = header ? BEARER.exec(header.trim()) : null
    if (!match?.[1]) {
      onDenied?.({ status: 401, code: 'missing_token', path: c.req.path }, c)
      return errorResponse(
        c,
        401,
        'missing_token',
        'Sign in first: this API needs an access token in the Authorization header.',
        {
          'WWW-Authenticate': 'Bearer',
        },
      )
    }
    try {
      c.set('user', await verifier.verify(match[1]))
    } catch (error) {
      if (!isCoreError(error)) throw error
      const mapped = statusFor(error.code)
      onDenied?.({ status: mapped.status, code: mapped.code, path: c.req.path }, c)
      const headers: Record<string, string> = {}
      if (mapped.oauth) headers['WWW-Authenticate'] = `Bearer error="${mapped.oauth}"`
      return errorResponse(c, mapped.status, mapped.code, MESSAGES[mapped.code] ?? error.message, headers)
    }
    await next()
  }
}
