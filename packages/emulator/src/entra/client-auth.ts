import { createHash, timingSafeEqual } from 'node:crypto'
import { compactVerify, decodeJwt, decodeProtectedHeader, importX509, type JWTPayload } from 'jose'
import type { AppRegistration, CertificateCredential, Tenant } from '../world/types.ts'
import { aad } from './aad-error.ts'

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** How a client proved who it is (the `appidacr` / `azpacr` value: 0 public, 1 secret, 2 certificate). */
export type ClientAuth =
  | { method: 'none'; acr: 0 }
  | { method: 'secret'; acr: 1 }
  | { method: 'certificate'; acr: 2 }

/** Credentials found in a token request: body parameters or HTTP Basic (RFC 6749 §2.3.1). */
export interface PresentedCredentials {
  clientId?: string
  clientSecret?: string
  clientAssertion?: string
  clientAssertionType?: string
}

/** Reads `client_id` / `client_secret` from the form and from an `Authorization: Basic` header (form-urlencoded parts). */
export function presentedCredentials(
  form: URLSearchParams,
  authorization: string | undefined,
): PresentedCredentials {
  const out: PresentedCredentials = {}
  if (authorization?.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8')
    const i = decoded.indexOf(':')
    if (i > 0) {
      const decode = (s: string) => {
        try {
          return decodeURIComponent(s.replaceAll('+', ' '))
        } catch {
          return s
        }
      }
      out.clientId = decode(decoded.slice(0, i))
      out.clientSecret = decode(decoded.slice(i + 1))
    }
  }
  const id = form.get('client_id')
  if (id) out.clientId = id
  const secret = form.get('client_secret')
  if (secret) out.clientSecret = secret
  const assertion = form.get('client_assertion')
  if (assertion) out.clientAssertion = assertion
  const assertionType = form.get('client_assertion_type')
  if (assertionType) out.clientAssertionType = assertionType
  return out
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest()

function secretMatches(app: AppRegistration, presented: string): 'ok' | 'expired' | 'no' {
  const p = digest(presented)
  for (const s of app.secrets) {
    if (timingSafeEqual(digest(s.value), p)) {
      if (s.expiresAt && Date.parse(s.expiresAt) < Date.now()) return 'expired'
      return 'ok'
    }
  }
  return 'no'
}

const SKEW_SECONDS = 300

/**
 * Remembers client assertion `jti`s until they expire. Microsoft documents that an assertion "can be used until"
 * its `exp` (learn.microsoft.com/entra/identity-platform/certificate-credentials), and MSAL reuses its signed
 * assertion for every token request to the same endpoint until then; so presenting the *same* assertion again is
 * accepted, while a *different* assertion that reuses a known `jti` is a replay or forgery and is refused.
 */
export class ReplayCache {
  #seen = new Map<string, { expiresAt: number; digest: string }>()

  /** Records `key` for `assertion`; false when the key is already bound to another assertion that has not expired. */
  remember(key: string, expiresAtSeconds: number, assertion: string): boolean {
    const now = Date.now() / 1000
    if (this.#seen.size > 10_000) for (const [k, v] of this.#seen) if (v.expiresAt < now) this.#seen.delete(k)
    const digest = createHash('sha256').update(assertion).digest('base64url')
    const prior = this.#seen.get(key)
    if (prior !== undefined && prior.expiresAt >= now) return prior.digest === digest
    this.#seen.set(key, { expiresAt: expiresAtSeconds + SKEW_SECONDS, digest })
    return true
  }

  clear(): void {
    this.#seen.clear()
  }
}

function findCertificate(
  app: AppRegistration,
  header: Record<string, unknown>,
): CertificateCredential | undefined {
  const s256 = header['x5t#S256']
  const s1 = header.x5t
  if (typeof s256 === 'string') return app.certificates.find((c) => c.thumbprintSha256 === s256)
  if (typeof s1 === 'string') return app.certificates.find((c) => c.thumbprintSha1 === s1)
  const x5c = header.x5c
  if (Array.isArray(x5c) && typeof x5c[0] === 'string') {
    const thumb = createHash('sha256').update(Buffer.from(x5c[0], 'base64')).digest('base64url')
    return app.certificates.find((c) => c.thumbprintSha256 === thumb)
  }
  return undefined
}

/**
 * Verifies a certificate client assertion (RFC 7523 / Entra "certificate credentials"): RS256 + `x5t` (SHA-1) or
 * PS256 + `x5t#S256`; `aud` one of `acceptedAudiences` (the token endpoint addresses of this tenant); `iss` = `sub` =
 * client id; `exp`/`nbf` within 5 minutes of skew; `jti` not bound to another assertion (see {@link ReplayCache}).
 */
export async function verifyClientAssertion(
  app: AppRegistration,
  assertion: string,
  acceptedAudiences: string[],
  replay: ReplayCache,
): Promise<JWTPayload> {
  let header: Record<string, unknown>
  let claims: JWTPayload
  try {
    header = decodeProtectedHeader(assertion) as Record<string, unknown>
    claims = decodeJwt(assertion)
  } catch {
    throw aad.malformedAssertion('The client assertion is not a signed JWT.')
  }
  const alg = header.alg
  if (alg !== 'RS256' && alg !== 'PS256')
    throw aad.malformedAssertion(
      `The client assertion algorithm '${String(alg)}' is not supported; use RS256 or PS256.`,
    )
  const cert = findCertificate(app, header)
  if (!cert) {
    const thumb = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : header.x5t
    if (typeof thumb !== 'string')
      throw aad.malformedAssertion(
        "The client assertion header must carry the certificate's thumbprint ('x5t#S256' or 'x5t').",
      )
    throw aad.certificateNotRegistered(
      app.appId,
      Buffer.from(thumb, 'base64url').toString('hex').toUpperCase(),
    )
  }
  try {
    await compactVerify(assertion, await importX509(cert.certificatePem, alg))
  } catch {
    throw aad.assertionSignature()
  }
  if (claims.iss !== app.appId || claims.sub !== app.appId) throw aad.assertionClientMismatch()
  const audiences = (Array.isArray(claims.aud) ? claims.aud : [claims.aud]).filter(
    (a): a is string => typeof a === 'string',
  )
  const accepted = new Set(acceptedAudiences.map((a) => a.toLowerCase()))
  if (!audiences.some((a) => accepted.has(a.toLowerCase())))
    throw aad.malformedAssertion(
      `The client assertion audience '${audiences.join(' ')}' is not this token endpoint (${acceptedAudiences[0]}).`,
    )
  const now = Date.now() / 1000
  // Numeric dates (RFC 7519 §2): a string, an object or a number beyond any date is malformed, not a time range.
  const numericDate = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && Math.abs(v) < 8.64e12
  if (!numericDate(claims.exp) || (claims.nbf !== undefined && !numericDate(claims.nbf))) {
    throw aad.malformedAssertion(
      "The client assertion's 'exp' and 'nbf' claims must be numbers (seconds since 1970-01-01T00:00:00Z).",
    )
  }
  if (
    typeof claims.exp !== 'number' ||
    claims.exp + SKEW_SECONDS < now ||
    (typeof claims.nbf === 'number' && claims.nbf - SKEW_SECONDS > now)
  )
    throw aad.assertionTimeRange(new Date(), claims.nbf, claims.exp)
  if (typeof claims.jti !== 'string' || claims.jti === '')
    throw aad.malformedAssertion("The client assertion must carry a 'jti' claim.")
  if (!replay.remember(`${app.appId}|${claims.jti}`, claims.exp, assertion))
    throw aad.malformedAssertion(
      `The client assertion with jti '${claims.jti}' was already used by another assertion (replay); give every assertion a new jti.`,
    )
  return claims
}

/** Token endpoint URLs a client assertion may name as `aud` for `tenant` (v1 and v2 paths, by id or domain). */
export function assertionAudiences(authorityUrl: string, tenant: Tenant, segment: string): string[] {
  const segments = [...new Set([tenant.id, tenant.domain, segment])]
  return segments.flatMap((s) => [
    `${authorityUrl}/${s}/oauth2/v2.0/token`,
    `${authorityUrl}/${s}/oauth2/token`,
  ])
}

/**
 * Authenticates a confidential client: a secret (body or Basic) or a certificate assertion.
 * @throws AadError 7000215 / 7000222 / 7000218 / 7000xx assertion errors.
 */
export async function authenticateConfidentialClient(
  app: AppRegistration,
  creds: PresentedCredentials,
  audiences: string[],
  replay: ReplayCache,
): Promise<ClientAuth> {
  if (creds.clientAssertion !== undefined || creds.clientAssertionType !== undefined) {
    if (creds.clientAssertionType !== JWT_BEARER) throw aad.missingParameter('client_assertion_type')
    if (creds.clientAssertion === undefined) throw aad.missingParameter('client_assertion')
    await verifyClientAssertion(app, creds.clientAssertion, audiences, replay)
    return { method: 'certificate', acr: 2 }
  }
  if (creds.clientSecret !== undefined) {
    const match = secretMatches(app, creds.clientSecret)
    if (match === 'expired') throw aad.expiredSecret(app.appId)
    if (match === 'no') throw aad.invalidSecret(app.appId)
    return { method: 'secret', acr: 1 }
  }
  throw aad.missingCredential()
}
