import { createHash } from 'node:crypto'
import { decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose'
import { type CloudInput, resolveCloud } from './clouds.ts'
import { VerificationError } from './errors.ts'
import type { HttpOptions } from './http-options.ts'
import {
  type AccessTokenVersion,
  checkTimes,
  KIND_TEXT,
  mapJoseError,
  TOKEN_TYPES,
  type TokenType,
  typeOf,
  VERSIONS,
  versionRefused,
} from './verifier-claims.ts'
import { createKeySource } from './verifier-keys.ts'
import { VerifiedSignatures } from './verifier-signatures.ts'

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Options of {@link createUserTokenVerifier}. */
export interface UserTokenVerifierOptions {
  /**
   * Accepted `aud` values: your API's client id and/or App ID URI (`api://...`). v2.0 tokens always carry the client
   * id; v1.0 tokens carry whichever the client asked for, usually the App ID URI, so list both when you accept v1.0.
   */
  audience: string | readonly string[]
  /**
   * Access-token versions your API accepts (default `['2.0']`). Entra ID issues the version your API's app
   * registration asks for in its manifest (`api.requestedAccessTokenVersion`, formerly `accessTokenAcceptedVersion`):
   * `2` gives v2.0 tokens, `null` (the default of new registrations) or `1` gives v1.0 tokens, whichever endpoint the
   * client used. Prefer setting it to `2`; pass `['1.0', '2.0']` while you migrate.
   */
  tokenVersions?: readonly ('1.0' | '2.0')[]
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
  /**
   * Kinds of tokens accepted (default `['user']`): `user`, a user's delegated access token (`scp` present, `idtyp`
   * absent or `user`); `app`, an app-only access token (client credentials: `idtyp: 'app'`, or no `scp` but the
   * `azpacr`/`appidacr` every access token carries); `id`, an OpenID Connect ID token (none of these), for a server
   * that verifies its own sign-ins. Add `app` only for an API that daemons call with application permissions
   * (`requiredRoles`).
   */
  tokenTypes?: readonly TokenType[]
  /** Allowed clock difference for `exp`/`nbf`/`iat` in seconds (default 60). */
  clockSkewSeconds?: number
  /**
   * Refuse tokens issued (`iat`) longer ago than this many seconds, whatever their `exp` (default: no limit beyond
   * `exp`). With it, a token without `iat` is refused.
   */
  maxTokenAgeSeconds?: number
  /** JWKS location (default `{authorityHost}/common/discovery/v2.0/keys`). */
  jwksUri?: string
  /** Minimum time between two JWKS fetches caused by unknown `kid`s (default 30 s). */
  jwksCooldownMs?: number
  /** Refetch the JWKS after this age even without an unknown `kid` (default 24 h). */
  jwksMaxAgeMs?: number
  /** Extra trusted CAs (the emulator's) and the JWKS fetch time limit. */
  http?: HttpOptions
  /**
   * How many verified signatures to remember (default 10,000; `0` turns it off). A client sends the same access
   * token for up to an hour, and an RS256 check costs far more than the rest of a request's checks: a remembered
   * token skips only the signature check, for at most 5 minutes and never past its `exp`, and only while its
   * signing key is still published. Every other check (times, audience, issuer, your tenant allow-list, scopes)
   * runs on every call. Tokens are remembered by their SHA-256, never as text.
   */
  signatureCacheSize?: number
  now?: () => number
}

/** A verified user of your API; the same fields whichever token version arrived. */
export interface VerifiedUser {
  tenantId: string
  /** The user's object id (`oid`): with `tenantId`, the stable key of a user. */
  objectId: string
  name: string | undefined
  /** Sign-in name for display (`preferred_username` in v2.0, `upn` or `unique_name` in v1.0); never for authorization. */
  username: string | undefined
  /** Client id of the app that called your API (`azp` in v2.0, `appid` in v1.0). */
  clientId: string | undefined
  /** The token's `ver`. */
  tokenVersion: '1.0' | '2.0'
  /** `user` for a delegated access token; `app` (app-only) or `id` (ID token) only when `tokenTypes` accepts them. */
  tokenType: 'user' | 'app' | 'id'
  scopes: string[]
  roles: string[]
  /** Every claim of the token, for anything else you need. */
  claims: JWTPayload
}

/** Verifies users' access tokens; see {@link createUserTokenVerifier}. */
export interface UserTokenVerifier {
  /**
   * Verifies an access token (with or without the `Bearer ` prefix) of an accepted version.
   * @throws VerificationError with a code telling which check failed
   */
  verify(token: string): Promise<VerifiedUser>
}

/**
 * Creates a verifier of Entra ID access tokens for your own API (v2.0 by default; v1.0 too with `tokenVersions`). It
 * accepts RS256 only (so `alg: none` and HS256-with-the-public-key are refused), checks the signature against the
 * cloud's JWKS (cached; refetched on an unknown `kid`, at most once per cooldown), `exp`/`nbf` with a small skew, the
 * token version, the issuer built from the token's own `tid` in the form its `ver` prescribes (the multi-tenant
 * issuer trap): `{authorityHost}/{tid}/v2.0` for v2.0, `{v1IssuerHost}/{tid}/` (`https://sts.windows.net/{tid}/`)
 * for v1.0, `aud` (a token with several audiences only when its `azp` is this API), required scopes or roles, and
 * your tenant allow-list. Every token must carry `exp`; `iat` and `nbf` may not lie in the future (beyond the clock
 * skew); only user tokens are accepted unless `tokenTypes` says otherwise.
 * @param options - see {@link UserTokenVerifierOptions}
 * @throws VerificationError `INVALID_OPTIONS` when the audience, the allow-list or the token versions are wrong
 * @example
 * const verifier = createUserTokenVerifier({
 *   audience: process.env.API_CLIENT_ID!,
 *   isTenantAllowed: (tid) => customers.has(tid),
 *   requiredScopes: ['access_as_user'],
 * })
 * const user = await verifier.verify(request.headers.get('authorization') ?? '')
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
  const versions = options.tokenVersions ?? ['2.0']
  if (
    !Array.isArray(versions) ||
    versions.length === 0 ||
    versions.some((v) => !VERSIONS.includes(v as AccessTokenVersion))
  ) {
    throw new VerificationError(
      'INVALID_OPTIONS',
      "tokenVersions must list '1.0' and/or '2.0' (the versions of access tokens your API accepts)",
    )
  }
  const tokenTypes: readonly TokenType[] = options.tokenTypes ?? ['user']
  if (
    !Array.isArray(tokenTypes) ||
    tokenTypes.length === 0 ||
    tokenTypes.some((t) => !TOKEN_TYPES.includes(t))
  ) {
    throw new VerificationError('INVALID_OPTIONS', "tokenTypes must list 'user', 'app' and/or 'id'")
  }
  const maxTokenAge = options.maxTokenAgeSeconds
  if (maxTokenAge !== undefined && !(Number.isFinite(maxTokenAge) && maxTokenAge > 0)) {
    throw new VerificationError('INVALID_OPTIONS', 'maxTokenAgeSeconds must be a positive number of seconds')
  }
  const v1IssuerHost = cloud.v1IssuerHost ?? cloud.authorityHost
  const issuerOf = (ver: AccessTokenVersion, tid: string) =>
    ver === '2.0' ? `${cloud.authorityHost}/${tid}/v2.0` : `${v1IssuerHost}/${tid}/`
  const now = options.now ?? Date.now
  const jwksUri = options.jwksUri ?? `${cloud.authorityHost}/common/discovery/v2.0/keys`
  const cooldown = options.jwksCooldownMs ?? 30_000
  const maxAge = options.jwksMaxAgeMs ?? 24 * 3_600_000
  const skew = options.clockSkewSeconds ?? 60
  const cacheSize = options.signatureCacheSize ?? 10_000
  if (!Number.isSafeInteger(cacheSize) || cacheSize < 0) {
    throw new VerificationError('INVALID_OPTIONS', 'signatureCacheSize must be a whole number, 0 or more')
  }
  const verified = new VerifiedSignatures(cacheSize)
  const keyFor = createKeySource({ jwksUri, cooldownMs: cooldown, maxAgeMs: maxAge, now, http: options.http })

  return {
    async verify(input) {
      // Stryker disable next-line Regex,StringLiteral: a JWT holds no whitespace, so a 'Bearer ' found later than the start, or a second space (trimmed), or another non-JWT text for a non-string all end in the same MALFORMED_TOKEN
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
      // Stryker disable next-line EqualityOperator,ConditionalExpression,StringLiteral: with size 0 the cache drops each entry as it is added, so hashing (or the empty digest's value) changes only the cost
      const digest = cacheSize > 0 ? createHash('sha256').update(token).digest('base64url') : ''
      let payload = verified.get(digest, entry, now())
      if (!payload) {
        try {
          ;({ payload } = await jwtVerify(token, entry.key, {
            algorithms: ['RS256'],
            clockTolerance: skew,
            currentDate: new Date(now()),
          }))
        } catch (cause) {
          throw mapJoseError(cause)
        }
        // Stryker disable next-line EqualityOperator,ConditionalExpression: with size 0 the cache drops each entry as it is added
        if (cacheSize > 0) verified.set(digest, entry, payload, now())
      }
      checkTimes(payload, Math.floor(now() / 1000), skew, maxTokenAge)
      // Before the version: Dataverse and Graph tokens are v1.0 too, and they are tokens for another API.
      const aud =
        // Stryker disable next-line ArrayDeclaration: a made-up audience in place of none is refused just the same
        typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : []
      if (!aud.some((a) => audiences.includes(a))) {
        throw new VerificationError(
          'INVALID_AUDIENCE',
          payload['ver'] === '1.0'
            ? 'The token was issued for another audience (a v1.0 token names the resource the client asked for: if it is your API, list its App ID URI in audience)'
            : 'The token was issued for another audience',
        )
      }
      // OpenID Connect Core 1.0 §3.1.3.7 (items 3–5): a token with several audiences is only for us when its
      // authorized party is us; otherwise another audience could replay it here.
      if (aud.length > 1) {
        const azp = payload['azp'] ?? payload['appid']
        // audiences are non-empty strings, so a missing or non-string azp is never among them
        if (!audiences.includes(azp as string)) {
          throw new VerificationError(
            'INVALID_AUDIENCE',
            'The token names several audiences and its authorized party (azp) is not this API: it was issued to another client',
          )
        }
      }
      const ver = payload['ver']
      if (ver !== '1.0' && ver !== '2.0') {
        throw new VerificationError(
          'MALFORMED_TOKEN',
          'The token has no ver claim of 1.0 or 2.0: it is not an Entra ID access token',
        )
      }
      if (!versions.includes(ver)) throw versionRefused(ver, versions)
      // Stryker disable next-line StringLiteral: any text in place of a missing tid fails the GUID test below just the same
      const tid = typeof payload['tid'] === 'string' ? payload['tid'] : ''
      if (!GUID.test(tid))
        throw new VerificationError('INVALID_ISSUER', 'The token carries no tenant GUID (tid)')
      const expectedIssuer = issuerOf(ver, tid)
      if (payload.iss !== expectedIssuer) {
        throw new VerificationError(
          'INVALID_ISSUER',
          `The token’s issuer does not match its own tenant and version (a v${ver} token must be issued by ${issuerOf(ver, '{tid}')})`,
        )
      }
      // Entra signs v1.0 and v2.0 tokens with the same keys, published once with v2.0 issuers: a v1.0 token is
      // checked against the key's issuer in its v2.0 form, as Microsoft.IdentityModel's
      // AadTokenValidationParametersExtension.ValidateIssuerSigningKey does (the v1 keys document has no issuers).
      if (entry.issuer) {
        const keyIssuer = entry.issuer.replace(/\{tenantid\}/gi, tid)
        if (keyIssuer !== payload.iss && keyIssuer !== issuerOf('2.0', tid)) {
          throw new VerificationError('INVALID_ISSUER', 'The signing key is not valid for the token’s issuer')
        }
      }
      const tenantId = tid.toLowerCase()
      if (!(await options.isTenantAllowed(tenantId))) {
        throw new VerificationError(
          'TENANT_NOT_ALLOWED',
          `Tenant ${tenantId} is not onboarded: its users may not call this API`,
        )
      }
      const scopes = typeof payload['scp'] === 'string' ? payload['scp'].split(' ').filter(Boolean) : []
      const tokenType = typeOf(payload, scopes)
      if (!tokenTypes.includes(tokenType)) {
        throw new VerificationError(
          'WRONG_TOKEN_TYPE',
          `The token is ${KIND_TEXT[tokenType]}, and this verifier accepts ${tokenTypes.map((t: TokenType) => KIND_TEXT[t]).join(' or ')}`,
        )
      }
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
      const text = (...names: string[]) => {
        for (const n of names) if (typeof payload[n] === 'string' && payload[n]) return payload[n] as string
        return undefined
      }
      return {
        tenantId,
        objectId: oid,
        name: text('name'),
        username: ver === '2.0' ? text('preferred_username') : text('upn', 'unique_name'),
        clientId: ver === '2.0' ? text('azp') : text('appid'),
        tokenVersion: ver,
        tokenType,
        scopes,
        roles,
        claims: payload,
      }
    },
  }
}
