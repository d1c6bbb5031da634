import { errors, type JWTPayload } from 'jose'
import { VerificationError } from './errors.ts'

export type AccessTokenVersion = '1.0' | '2.0'
export const VERSIONS: readonly AccessTokenVersion[] = ['1.0', '2.0']
export type TokenType = 'user' | 'app' | 'id'
export const TOKEN_TYPES: readonly TokenType[] = ['user', 'app', 'id']

export const KIND_TEXT: Record<TokenType, string> = {
  user: 'a user’s delegated access token',
  app: 'an app-only access token (no signed-in user, no scp)',
  id: 'an ID token (not an access token)',
}

// entra-docs access-token-claims-reference.md: `idtyp` ('app' or 'user') is an optional claim, `scp` is present only
// in delegated tokens, and every access token carries `azpacr` (v2.0) or `appidacr` (v1.0); ID tokens carry neither.
export function typeOf(payload: JWTPayload, scopes: readonly string[]): TokenType {
  const idtyp = payload['idtyp']
  if (idtyp === 'app') return 'app'
  if (idtyp !== undefined && idtyp !== 'user') {
    throw new VerificationError('MALFORMED_TOKEN', 'The token’s idtyp claim is neither user nor app')
  }
  if (scopes.length > 0) return 'user'
  return payload['azpacr'] !== undefined || payload['appidacr'] !== undefined ? 'app' : 'id'
}

// jwtVerify checks exp and nbf only when present, and iat not at all without maxTokenAge: every token we accept
// expires, and none claims to come from the future (a forged clock to outlive revocation).
export function checkTimes(
  payload: JWTPayload,
  nowSeconds: number,
  skew: number,
  maxAge: number | undefined,
): void {
  if (typeof payload.exp !== 'number') {
    throw new VerificationError('MALFORMED_TOKEN', 'The token has no exp claim: every Entra ID token expires')
  }
  for (const claim of ['iat', 'nbf'] as const) {
    const value = payload[claim]
    if (value === undefined) continue
    // Stryker disable next-line ConditionalExpression,BlockStatement: jose's jwtVerify refuses a non-number iat or nbf first (a remembered payload passed it too); kept should jose change
    if (typeof value !== 'number') {
      // Stryker disable next-line StringLiteral: unreachable while jose refuses such a claim first
      throw new VerificationError('MALFORMED_TOKEN', `The token's ${claim} claim is not a number`)
    }
    if (value > nowSeconds + skew) {
      throw new VerificationError(
        'TOKEN_NOT_YET_VALID',
        claim === 'iat'
          ? 'The token claims to be issued in the future: check the server’s clock'
          : 'The token is not valid yet: check the server’s clock',
      )
    }
  }
  if (maxAge !== undefined) {
    if (typeof payload.iat !== 'number') {
      throw new VerificationError('MALFORMED_TOKEN', 'The token has no iat claim, so its age is unknown')
    }
    if (nowSeconds - payload.iat > maxAge + skew) {
      throw new VerificationError(
        'TOKEN_TOO_OLD',
        `The token was issued more than ${maxAge} s ago: sign in again`,
      )
    }
  }
}

// entra-docs access-tokens.md ("Token formats", "Token ownership"): the resource's manifest value picks the version
// (null or 1 → v1.0, 2 → v2.0) whichever endpoint issued the token; access-token-claims-reference.md for the claims.
export function versionRefused(
  ver: AccessTokenVersion,
  accepted: readonly AccessTokenVersion[],
): VerificationError {
  const fix =
    ver === '1.0'
      ? 'set "requestedAccessTokenVersion": 2 in the api section of your API app registration’s manifest ' +
        '("accessTokenAcceptedVersion": 2 in the old manifest; tokens issued after the change are v2.0), ' +
        "or accept v1.0 tokens with tokenVersions: ['1.0', '2.0']"
      : "your API app registration asks for v2.0 tokens (requestedAccessTokenVersion 2): add '2.0' to tokenVersions"
  return new VerificationError(
    'UNSUPPORTED_TOKEN_VERSION',
    `The token is a v${ver} access token and this API accepts only ${accepted.map((v) => `v${v}`).join(' and ')}: ${fix}`,
  )
}

export function mapJoseError(cause: unknown): VerificationError {
  if (cause instanceof errors.JWTExpired) {
    return new VerificationError('TOKEN_EXPIRED', 'The token has expired: get a new one', { cause })
  }
  // jwtVerify is given no audience (checked after it) and no other algorithm than the RS256 the header was checked
  // for, so it refuses only times, types of time claims, signatures and malformed tokens
  if (cause instanceof errors.JWTClaimValidationFailed) {
    if (cause.claim === 'nbf') {
      return new VerificationError('TOKEN_NOT_YET_VALID', 'The token is not valid yet', { cause })
    }
    return new VerificationError('MALFORMED_TOKEN', `The token's ${cause.claim} claim is invalid`, { cause })
  }
  if (cause instanceof errors.JWSSignatureVerificationFailed) {
    return new VerificationError('INVALID_SIGNATURE', 'The token’s signature is not valid', { cause })
  }
  return new VerificationError('MALFORMED_TOKEN', 'The token could not be verified', { cause })
}
