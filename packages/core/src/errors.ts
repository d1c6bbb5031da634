/** Codes of {@link TokenError}: acquiring an app-only token, or configuring the provider. */
export type TokenErrorCode =
  | 'INVALID_OPTIONS'
  | 'INVALID_CREDENTIAL'
  | 'INVALID_TENANT'
  | 'INVALID_RESOURCE'
  | 'APP_NOT_FOUND_IN_TENANT'
  | 'INVALID_CLIENT_SECRET'
  | 'INVALID_CLIENT_ASSERTION'
  | 'RESOURCE_NOT_FOUND'
  | 'TENANT_NOT_FOUND'
  | 'CONSENT_REQUIRED'
  | 'INVALID_SCOPE'
  | 'UNAUTHORIZED_CLIENT'
  | 'THROTTLED'
  | 'NETWORK'
  | 'TIMEOUT'
  | 'MANAGED_IDENTITY_UNAVAILABLE'
  | 'TOKEN_REQUEST_FAILED'
  | 'DEVICE_CODE_EXPIRED'
  | 'DEVICE_CODE_DECLINED'

/**
 * Codes of {@link DiscoveryError}: finding the tenant of an org URL, or listing a user's organizations
 * (`UNAUTHORIZED`: the Global Discovery Service refused the token; `NO_DISCOVERY_SERVICE`: the cloud has none).
 */
export type DiscoveryErrorCode =
  | 'INVALID_ORG_URL'
  | 'DISCOVERY_FAILED'
  | 'UNTRUSTED_AUTHORITY'
  | 'TIMEOUT'
  | 'UNAUTHORIZED'
  | 'NO_DISCOVERY_SERVICE'

/** Codes of {@link ConsentError}: the admin-consent round trip. */
export type ConsentErrorCode =
  | 'INVALID_OPTIONS'
  | 'INVALID_STATE'
  | 'STATE_EXPIRED'
  | 'STATE_SESSION_MISMATCH'
  | 'STATE_REUSED'
  | 'CONSENT_DENIED'
  | 'CONSENT_REQUIRED'
  | 'CONSENT_FAILED'
  | 'INVALID_CALLBACK'

/** Codes of {@link VerificationError}: verifying a user's access token for the app's own API. */
export type VerificationErrorCode =
  | 'INVALID_OPTIONS'
  | 'MALFORMED_TOKEN'
  | 'UNSUPPORTED_ALGORITHM'
  | 'INVALID_SIGNATURE'
  | 'UNKNOWN_KEY'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_NOT_YET_VALID'
  | 'TOKEN_TOO_OLD'
  | 'WRONG_TOKEN_TYPE'
  | 'INVALID_AUDIENCE'
  | 'INVALID_ISSUER'
  | 'UNSUPPORTED_TOKEN_VERSION'
  | 'TENANT_NOT_ALLOWED'
  | 'INSUFFICIENT_SCOPE'
  | 'JWKS_UNAVAILABLE'

/** Every code an error of this package can carry. */
export type CoreErrorCode = TokenErrorCode | DiscoveryErrorCode | ConsentErrorCode | VerificationErrorCode

/**
 * Base class of every error thrown by `@dataverse-s2s/core`. `code` is a closed union, so a `switch` narrows it.
 * Messages say what was wrong and what to do; they never contain a secret, an assertion or a token.
 * @example
 * try {
 *   await tokens.getToken({ tenantId, resource: orgUrl })
 * } catch (error) {
 *   // Any error of this package, whichever of its classes: `code` says what went wrong.
 *   if (isCoreError(error)) console.warn(`${error.name} ${error.code}: ${error.message}`)
 *   throw error
 * }
 */
export class CoreError extends Error {
  override name = 'CoreError'
  readonly code: CoreErrorCode
  constructor(code: CoreErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}

/** Extra facts kept on a {@link TokenError}; none of them is secret. */
export interface TokenErrorDetails {
  /** The AADSTS number Entra ID answered with, e.g. `700016`. */
  aadsts?: number
  /** The OAuth `error` value, e.g. `unauthorized_client`. */
  oauthError?: string
  tenantId?: string
  resource?: string
  /** Entra ID's correlation id, for a support ticket. */
  correlationId?: string
  /** For `APP_NOT_FOUND_IN_TENANT` and `CONSENT_REQUIRED`: where an administrator of the tenant can consent. */
  consentUrl?: string
  /** For `THROTTLED`: how long Entra ID asked to wait. */
  retryAfterMs?: number
}

/**
 * Acquiring an app-only token failed, or the provider was configured wrongly. When MSAL failed, its error is the
 * `cause`.
 * @example
 * try {
 *   await tokens.getToken({ tenantId, resource: orgUrl })
 * } catch (error) {
 *   if (!(error instanceof TokenError)) throw error
 *   switch (error.code) {
 *     case 'APP_NOT_FOUND_IN_TENANT':
 *       return 'The tenant has not consented to the app yet: ask its administrator to connect it.'
 *     case 'INVALID_CLIENT_SECRET':
 *       return 'The client secret is wrong or expired: rotate it in the app registration.'
 *     default:
 *       throw error
 *   }
 * }
 */
export class TokenError extends CoreError {
  override name = 'TokenError'
  declare readonly code: TokenErrorCode
  readonly details: TokenErrorDetails
  constructor(
    code: TokenErrorCode,
    message: string,
    options?: ErrorOptions & { details?: TokenErrorDetails },
  ) {
    super(code, message, options)
    this.details = options?.details ?? {}
  }
}

/**
 * {@link discoverTenant} could not learn (or would not trust) the tenant of an org URL.
 * @example
 * try {
 *   await discoverTenant(orgUrl)
 * } catch (error) {
 *   if (error instanceof DiscoveryError && error.code === 'INVALID_ORG_URL') return 'Enter the org URL, e.g. https://contoso.crm.dynamics.com'
 *   throw error
 * }
 */
export class DiscoveryError extends CoreError {
  override name = 'DiscoveryError'
  declare readonly code: DiscoveryErrorCode
  constructor(code: DiscoveryErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options)
  }
}

/**
 * The admin-consent round trip failed: a bad `state`, or Entra ID redirected back with an error.
 * @example
 * try {
 *   await parseAdminConsentRedirect(request.url, { states, sessionId })
 * } catch (error) {
 *   if (error instanceof ConsentError && error.code === 'CONSENT_DENIED') return 'The administrator declined the consent.'
 *   throw error
 * }
 */
export class ConsentError extends CoreError {
  override name = 'ConsentError'
  declare readonly code: ConsentErrorCode
  /** The `error` and `error_description` Entra ID redirected with, when it did. */
  readonly oauthError: string | undefined
  readonly description: string | undefined
  constructor(
    code: ConsentErrorCode,
    message: string,
    options?: ErrorOptions & { oauthError?: string; description?: string },
  ) {
    super(code, message, options)
    this.oauthError = options?.oauthError
    this.description = options?.description
  }
}

/**
 * A user's access token was refused by {@link createUserTokenVerifier}.
 * @example
 * try {
 *   await verifier.verify(request.headers.get('authorization') ?? '')
 * } catch (error) {
 *   if (error instanceof VerificationError && error.code === 'TOKEN_EXPIRED') return new Response(null, { status: 401 })
 *   throw error
 * }
 */
export class VerificationError extends CoreError {
  override name = 'VerificationError'
  declare readonly code: VerificationErrorCode
  constructor(code: VerificationErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options)
  }
}

/**
 * True when `value` is an error of this package (works across duplicated copies of the package).
 * @example
 * app.onError((error, c) => (isCoreError(error) ? c.json({ error: error.code }, 502) : c.json({ error: 'internal' }, 500)))
 */
export function isCoreError(value: unknown): value is CoreError {
  return (
    value instanceof CoreError ||
    (value instanceof Error &&
      typeof (value as { code?: unknown }).code === 'string' &&
      ['CoreError', 'TokenError', 'DiscoveryError', 'ConsentError', 'VerificationError'].includes(value.name))
  )
}
