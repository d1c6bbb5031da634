import {
  type CryptoKey,
  decodeProtectedHeader,
  errors,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
} from 'jose'
import { type CloudInput, resolveCloud } from './clouds.ts'
import { VerificationError } from './errors.ts'
import { type HttpOptions, send } from './internal/http.ts'

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Options of {@link createUserTokenVerifier}. */
export interface UserTokenVerifierOptions {
  /** Accepted `aud` values: your API's client id and/or App ID URI (`api://...`). */
  audience: string | readonly string[]
  /** Cloud whose Entra ID issues the tokens (default `public`). */
  cloud?: CloudInput
  /**
   * Your tenant allow-list: only onboarded customers' users get in. Called after the signature, issuer and
   * audience checks, with the token's `tid`.
   */
  isTenantAllowed: (tenantId: string) => boolean | Promise<boolean>
  /** Delegated scopes (`scp`) the token must all carry. */
  requiredScopes?: readonly string[]
  /** App roles (`roles`) the token must all carry. With `requiredScopes` too, meeting either set is enough. */
  requiredRoles?: readonly string[]
  /** Allowed clock difference for `exp`/`nbf` in seconds (default 60). */
  clockSkewSeconds?: number
  /** JWKS location (default `{authorityHost}/common/discovery/v2.0/keys`). */
  jwksUri?: string
  /** Minimum time between two JWKS fetches caused by unknown `kid`s (default 30 s). */
  jwksCooldownMs?: number
  /** Refetch the JWKS after this age even without an unknown `kid` (default 24 h). */
  jwksMaxAgeMs?: number
  /** Extra trusted CAs (the emulator's) and the JWKS fetch time limit. */
  http?: HttpOptions
  now?: () => number
}

/** A verified user of your API. */
export interface VerifiedUser {
  tenantId: string
  /** The user's object id (`oid`): with `tenantId`, the stable key of a user. */
  objectId: string
  name: string | undefined
  scopes: string[]
  roles: string[]
  /** Every claim of the token, for anything else you need. */
  claims: JWTPayload
}

/** Verifies users' access tokens; see {@link createUserTokenVerifier}. */
export interface UserTokenVerifier {
  /**
   * Verifies a v2 access token (with or without the `Bearer ` prefix).
   * @throws VerificationError with a code telling which check failed
   */
  verify(token: string): Promise<VerifiedUser>
}

interface KeyEntry {
  key: CryptoKey | Uint8Array
  issuer?: string
}

/**
 * Creates a verifier of Entra ID v2 access tokens for your own API. It accepts RS256 only (so `alg: none` and
 * HS256-with-the-public-key are refused), checks the signature against the cloud's JWKS (cached; refetched on an
 * unknown `kid`, at most once per cooldown), `exp`/`nbf` with a small skew, `aud`, the issuer
 * `https://{host}/{tid}/v2.0` built from the token's own `tid` (the multi-tenant issuer trap), required scopes or
 * roles, and your tenant allow-list.
 * @param options - see {@link UserTokenVerifierOptions}
 * @throws VerificationError `INVALID_OPTIONS` when the audience is missing
 * @example
 * const verifier = createUserTokenVerifier({
 *   audience: process.env.API_CLIENT_ID!,
 *   isTenantAllowed: (tid) => customers.has(tid),
 *   requiredScopes: ['access_as_user'],
 * })
 * const user = await verifier.verify(request.headers.authorization ?? '')
 */
export function createUserTokenVerifier(options: UserTokenVerifierOptions): UserTokenVerifier {
  const audiences = typeof options.audience === 'string' ? [options.audience] : [...(options.audience ?? [])]
  if (audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || a.length === 0)) {
    throw new VerificationError('INVALID_OPTIONS', 'audience is required: your API’s client id or App ID URI')
  }
  if (typeof options.isTenantAllowed !== 'function') {
    throw new VerificationError(
      'INVALID_OPTIONS',
      'isTenantAllowed is required: decide which tenants may call your API',
    )
  }
  let cloud: ReturnType<typeof resolveCloud>
  try {
    cloud = resolveCloud(options.cloud)
  } catch (cause) {
    throw new VerificationError('INVALID_OPTIONS', (cause as Error).message, { cause })
  }
  const now = options.now ?? Date.now
  const jwksUri = options.jwksUri ?? `${cloud.authorityHost}/common/discovery/v2.0/keys`
  const cooldown = options.jwksCooldownMs ?? 30_000
  const maxAge = options.jwksMaxAgeMs ?? 24 * 3_600_000
  const skew = options.clockSkewSeconds ?? 60
  let keys = new Map<string, KeyEntry>()
  let fetchedAt = Number.NEGATIVE_INFINITY
  let fetching: Promise<void> | undefined

  const refresh = (): Promise<void> => {
    fetching ??= (async () => {
      try {
        fetchedAt = now()
        const res = await send(
          jwksUri,
          { method: 'GET', headers: { accept: 'application/json' } },
          options.http ?? {},
        )
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`)
        const body = JSON.parse(res.text) as { keys?: (JWK & { issuer?: string })[] }
        const next = new Map<string, KeyEntry>()
        for (const jwk of body.keys ?? []) {
          if (jwk.kty !== 'RSA' || !jwk.kid || !jwk.n || !jwk.e || (jwk.use && jwk.use !== 'sig')) continue
          try {
            const key = await importJWK({ kty: jwk.kty, n: jwk.n, e: jwk.e }, 'RS256')
            next.set(jwk.kid, { key, ...(jwk.issuer ? { issuer: jwk.issuer } : {}) })
          } catch {
            // skip keys jose cannot import
          }
        }
        keys = next
      } catch (cause) {
        if (keys.size === 0) {
          throw new VerificationError(
            'JWKS_UNAVAILABLE',
            `The signing keys could not be fetched from ${jwksUri}: retry later`,
            {
              cause,
            },
          )
        }
      } finally {
        fetching = undefined
      }
    })()
    return fetching
  }

  const keyFor = async (kid: string): Promise<KeyEntry> => {
    if (now() - fetchedAt > maxAge) await refresh()
    let entry = keys.get(kid)
    if (!entry && now() - fetchedAt >= cooldown) {
      await refresh()
      entry = keys.get(kid)
    }
    if (!entry) {
      throw new VerificationError(
        'UNKNOWN_KEY',
        'The token is signed with a key this issuer does not publish',
      )
    }
    return entry
  }

  return {
    async verify(input) {
      const token = typeof input === 'string' ? input.replace(/^Bearer\s+/i, '').trim() : ''
      let header: ReturnType<typeof decodeProtectedHeader>
      try {
        header = decodeProtectedHeader(token)
      } catch (cause) {
        throw new VerificationError('MALFORMED_TOKEN', 'The token is not a JWT', { cause })
      }
      if (header.alg !== 'RS256') {
        throw new VerificationError(
          'UNSUPPORTED_ALGORITHM',
          `Tokens signed with ${String(header.alg).slice(0, 16)} are refused; Entra ID signs with RS256`,
        )
      }
      if (typeof header.kid !== 'string' || !header.kid) {
        throw new VerificationError('MALFORMED_TOKEN', 'The token header has no kid')
      }
      const entry = await keyFor(header.kid)
      let payload: JWTPayload
      try {
        ;({ payload } = await jwtVerify(token, entry.key, {
          algorithms: ['RS256'],
          audience: audiences,
          clockTolerance: skew,
          currentDate: new Date(now()),
        }))
      } catch (cause) {
        throw mapJoseError(cause)
      }
      const tid = typeof payload['tid'] === 'string' ? payload['tid'] : ''
      if (!GUID.test(tid))
        throw new VerificationError('INVALID_ISSUER', 'The token carries no tenant GUID (tid)')
      const expectedIssuer = `${cloud.authorityHost}/${tid}/v2.0`
      if (payload.iss !== expectedIssuer) {
        throw new VerificationError(
          'INVALID_ISSUER',
          'The token’s issuer does not match its own tenant (v2 issuer https://{host}/{tid}/v2.0 expected)',
        )
      }
      if (entry.issuer && entry.issuer.replace(/\{tenantid\}/gi, tid) !== payload.iss) {
        throw new VerificationError('INVALID_ISSUER', 'The signing key is not valid for the token’s issuer')
      }
      const tenantId = tid.toLowerCase()
      if (!(await options.isTenantAllowed(tenantId))) {
        throw new VerificationError(
          'TENANT_NOT_ALLOWED',
          `Tenant ${tenantId} is not onboarded: its users may not call this API`,
        )
      }
      const scopes = typeof payload['scp'] === 'string' ? payload['scp'].split(' ').filter(Boolean) : []
      const roles = Array.isArray(payload['roles'])
        ? (payload['roles'] as unknown[]).filter((r): r is string => typeof r === 'string')
        : []
      const needScopes = options.requiredScopes ?? []
      const needRoles = options.requiredRoles ?? []
      if (needScopes.length > 0 || needRoles.length > 0) {
        const scopesOk = needScopes.length > 0 && needScopes.every((s) => scopes.includes(s))
        const rolesOk = needRoles.length > 0 && needRoles.every((r) => roles.includes(r))
        if (!scopesOk && !rolesOk) {
          const want = [
            needScopes.length ? `scopes ${needScopes.join(', ')}` : '',
            needRoles.length ? `roles ${needRoles.join(', ')}` : '',
          ]
            .filter(Boolean)
            .join(' or ')
          throw new VerificationError('INSUFFICIENT_SCOPE', `The token lacks the required ${want}`)
        }
      }
      const oid = typeof payload['oid'] === 'string' ? payload['oid'] : ''
      if (!oid) throw new VerificationError('MALFORMED_TOKEN', 'The token has no oid claim')
      return {
        tenantId,
        objectId: oid,
        name: typeof payload['name'] === 'string' ? payload['name'] : undefined,
        scopes,
        roles,
        claims: payload,
      }
    },
  }
}

function mapJoseError(cause: unknown): VerificationError {
  if (cause instanceof errors.JWTExpired) {
    return new VerificationError('TOKEN_EXPIRED', 'The token has expired: get a new one', { cause })
  }
  if (cause instanceof errors.JWTClaimValidationFailed) {
    if (cause.claim === 'aud') {
      return new VerificationError('INVALID_AUDIENCE', 'The token was issued for another audience', { cause })
    }
    if (cause.claim === 'nbf') {
      return new VerificationError('TOKEN_NOT_YET_VALID', 'The token is not valid yet', { cause })
    }
    return new VerificationError('MALFORMED_TOKEN', `The token's ${cause.claim} claim is invalid`, { cause })
  }
  if (cause instanceof errors.JWSSignatureVerificationFailed) {
    return new VerificationError('INVALID_SIGNATURE', 'The token’s signature is not valid', { cause })
  }
  if (cause instanceof errors.JOSEAlgNotAllowed) {
    return new VerificationError('UNSUPPORTED_ALGORITHM', 'The token’s algorithm is refused', { cause })
  }
  return new VerificationError('MALFORMED_TOKEN', 'The token could not be verified', { cause })
}
