// Emulated Azure managed identities and federated identity credentials (FIC) on app registrations.
// - The identity endpoint, in both of Azure's forms:
//   App Service / Functions: GET {IDENTITY_ENDPOINT}?resource=..&api-version=2019-08-01[&client_id=..] with the
//   `X-IDENTITY-HEADER` header (learn.microsoft.com/azure/app-service/overview-managed-identity, "REST endpoint
//   reference"); IMDS: GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=..[&client_id=..] with
//   `Metadata: true` (learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token).
//   The emulator serves them on its Entra origin at /msi/token and /metadata/identity/oauth2/token.
// - A managed identity's token: iss {authority}/{tenant}/v2.0, sub = oid = the identity's object (principal) id,
//   aud = the requested resource (api://AzureADTokenExchange for the app-trusts-identity flow).
// - A client assertion that is such a token is accepted for an app only when one of the app's FICs names its issuer,
//   subject and an audience (learn.microsoft.com/entra/workload-id/workload-identity-federation-config-app-trust-managed-identity;
//   refusals AADSTS700211 issuer / AADSTS700213 subject / AADSTS700212 audience, entra-docs reference-error-codes).
import { randomUUID } from 'node:crypto'
import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose'
import { EmulatorError } from '../errors.ts'
import type { World } from '../world/world.ts'
import { AadError, aad } from './aad-error.ts'

/** A managed identity of the emulated Azure resource the caller runs on. */
export interface ManagedIdentity {
  /** Client (application) id of the identity. */
  clientId: string
  /** Object (principal) id: the `sub`/`oid` of its tokens and the FIC's subject. */
  objectId: string
  tenantId: string
  /** True for the system-assigned identity (used when the request names no client_id). */
  systemAssigned: boolean
  /** How many tokens the identity endpoint issued for it (tests check a client's caching with it). */
  tokensIssued: number
}

/** A federated identity credential of an app registration (Microsoft Graph federatedIdentityCredential). */
export interface FederatedIdentityCredential {
  id: string
  name: string
  issuer: string
  subject: string
  audiences: string[]
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Managed identities and FICs, kept with the Entra state (reset with it). */
export class ManagedIdentityRegistry {
  readonly identities: ManagedIdentity[] = []
  readonly fics = new Map<string, FederatedIdentityCredential[]>()
  /** The secret the App Service form demands in `X-IDENTITY-HEADER` (what Azure puts in IDENTITY_HEADER). */
  identityHeader = 'emulator-identity-header'

  addIdentity(input: Partial<ManagedIdentity> & { tenantId: string }): ManagedIdentity {
    const mi: ManagedIdentity = {
      clientId: input.clientId ?? randomUUID(),
      objectId: input.objectId ?? randomUUID(),
      tenantId: input.tenantId,
      systemAssigned: input.systemAssigned ?? false,
      tokensIssued: 0,
    }
    for (const id of [mi.clientId, mi.objectId, mi.tenantId])
      if (!GUID.test(id)) throw new EmulatorError('INVALID_ARGUMENT', `'${id}' is not a GUID.`)
    if (mi.systemAssigned && this.identities.some((i) => i.systemAssigned))
      throw new EmulatorError('CONFLICT', 'A system-assigned managed identity exists already.')
    this.identities.push(mi)
    return mi
  }

  addFederatedCredential(
    appId: string,
    input: { name?: string; issuer: string; subject: string; audiences?: string[] },
  ): FederatedIdentityCredential {
    if (!input.issuer || !input.subject)
      throw new EmulatorError('INVALID_ARGUMENT', 'A federated identity credential needs issuer and subject.')
    const list = this.fics.get(appId.toLowerCase()) ?? []
    // Microsoft Graph: at most 20 federated identity credentials per application.
    if (list.length >= 20)
      throw new EmulatorError(
        'INVALID_ARGUMENT',
        'An application has at most 20 federated identity credentials.',
      )
    const fic: FederatedIdentityCredential = {
      id: randomUUID(),
      name: input.name ?? `fic-${list.length + 1}`,
      issuer: input.issuer,
      subject: input.subject,
      audiences: input.audiences ?? ['api://AzureADTokenExchange'],
    }
    list.push(fic)
    this.fics.set(appId.toLowerCase(), list)
    return fic
  }

  clear(): void {
    this.identities.length = 0
    this.fics.clear()
  }
}

const miError = (status: 400 | 401 | 404, error: string, description: string) =>
  Response.json({ error, error_description: description }, { status })

/**
 * Answers an identity-endpoint request (App Service or IMDS form) with a token for the identity, or the endpoint's
 * error. `style` decides the header checked and the response shape.
 */
export async function answerIdentityRequest(
  world: World,
  registry: ManagedIdentityRegistry,
  style: 'appService' | 'imds',
  url: URL,
  headers: Headers,
): Promise<Response> {
  if (style === 'imds' && headers.get('metadata')?.toLowerCase() !== 'true')
    return miError(400, 'invalid_request', 'Required metadata header not specified')
  if (style === 'appService' && headers.get('x-identity-header') !== registry.identityHeader)
    return miError(401, 'unauthorized', 'The X-IDENTITY-HEADER header is missing or wrong.')
  const resource = url.searchParams.get('resource')
  if (!resource) return miError(400, 'invalid_request', 'Required query variable resource is missing')
  const clientId = url.searchParams.get('client_id')
  const objectId = url.searchParams.get('object_id') ?? url.searchParams.get('principal_id')
  const mi = clientId
    ? registry.identities.find((i) => i.clientId.toLowerCase() === clientId.toLowerCase())
    : objectId
      ? registry.identities.find((i) => i.objectId.toLowerCase() === objectId.toLowerCase())
      : registry.identities.find((i) => i.systemAssigned)
  if (!mi) return miError(400, 'invalid_request', 'Identity not found')
  mi.tokensIssued++
  const now = Math.floor(world.clock.now() / 1000)
  const lifetime = 86_399 // managed identity tokens live about 24 hours
  const token = await world.signingKeys.signJwt({
    aud: resource,
    iss: `${world.authorityUrl}/${mi.tenantId}/v2.0`,
    iat: now,
    nbf: now,
    exp: now + lifetime,
    sub: mi.objectId,
    oid: mi.objectId,
    tid: mi.tenantId,
    azp: mi.clientId,
    appid: mi.clientId,
    idtyp: 'app',
    ver: '2.0',
    uti: randomUUID(),
  })
  const body: Record<string, string> = {
    access_token: token,
    expires_on: String(now + lifetime),
    resource,
    token_type: 'Bearer',
    client_id: mi.clientId,
  }
  if (style === 'imds') {
    body['expires_in'] = String(lifetime)
    body['not_before'] = String(now)
    body['refresh_token'] = ''
  }
  return Response.json(body)
}

/**
 * True when the assertion is a federated one: no certificate thumbprint in its header, and either the app has FICs
 * or the emulator signed it (a managed identity token presented to an app that trusts nothing).
 */
export function isFederatedAssertion(
  world: World,
  registry: ManagedIdentityRegistry,
  appId: string,
  assertion: string,
): boolean {
  try {
    const h = decodeProtectedHeader(assertion) as Record<string, unknown>
    if (h.x5t !== undefined || h['x5t#S256'] !== undefined || h.x5c !== undefined) return false
    return (
      registry.fics.has(appId.toLowerCase()) || world.signingKeys.jwks().keys.some((k) => k.kid === h.kid)
    )
  } catch {
    return false
  }
}

/**
 * Accepts a managed identity's token as the client assertion of `appId` when a FIC matches it.
 * @throws AadError 700024 (expired), 700211 (issuer), 700213 (subject), 700212 (audience), 700027 (signature).
 */
export async function verifyFederatedAssertion(
  world: World,
  registry: ManagedIdentityRegistry,
  appId: string,
  assertion: string,
): Promise<JWTPayload> {
  let claims: JWTPayload
  try {
    claims = await world.signingKeys.verifyJwt(assertion, {
      now: world.clock.now(),
      clockToleranceSeconds: 0,
    })
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_JWT_EXPIRED') {
      const c = decodeJwt(assertion)
      throw aad.assertionTimeRange(new Date(world.clock.now()), c.nbf, c.exp)
    }
    throw aad.assertionSignature()
  }
  const fics = registry.fics.get(appId.toLowerCase()) ?? []
  if (fics.length === 0)
    throw new AadError(
      400,
      'invalid_client',
      70021,
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${String(claims.iss)}'. Assertion Subject: '${String(claims.sub)}'. Assertion Audience: '${String(claims.aud)}'.`,
    )
  const byIssuer = fics.filter((f) => f.issuer === claims.iss)
  if (byIssuer.length === 0)
    throw new AadError(
      400,
      'invalid_client',
      700211,
      `No matching federated identity record found for presented assertion issuer '${String(claims.iss)}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.`,
    )
  const bySubject = byIssuer.filter((f) => f.subject === claims.sub)
  if (bySubject.length === 0)
    throw new AadError(
      400,
      'invalid_client',
      700213,
      `No matching federated identity record found for presented assertion subject '${String(claims.sub)}'. Assertion Issuer: '${String(claims.iss)}'. Assertion Subject: '${String(claims.sub)}'. Assertion Audience: '${String(claims.aud)}'.`,
    )
  const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
  if (!bySubject.some((f) => f.audiences.some((a) => auds.includes(a))))
    throw new AadError(
      400,
      'invalid_client',
      700212,
      `No matching federated identity record found for presented assertion audience '${auds.join(' ')}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.`,
    )
  return claims
}
