import { TokenError, type TokenErrorCode, type TokenErrorDetails } from '../errors.ts'
import { redact } from '../logger.ts'
import { HttpNetworkError, HttpTimeoutError } from './http.ts'

export interface MappingContext {
  clientId: string
  tenantId: string
  resource: string
  /** Builds the admin-consent URL for a tenant, for 700016 / 65001. */
  consentUrl: (tenantId: string) => string
  /** Literal secrets to strip from any text taken from the cause. */
  secrets: readonly string[]
  managedIdentity: boolean
  /** The client assertion is a managed identity's token (managedIdentityFederation). */
  federatedManagedIdentity?: boolean
  /** The transport error behind MSAL's bare network_error, when known. */
  transportError?: Error
}

const transport = (ctx: MappingContext) => ctx.transportError

interface MsalLikeError {
  name?: string
  errorCode?: string
  errorMessage?: string
  errorNo?: string
  status?: number
  correlationId?: string
  message?: string
}

// AADSTS numbers and their meaning from entra-docs reference-error-codes.md (see shared/DOMAIN.md §2.1).
const byNumber: Record<number, TokenErrorCode> = {
  700016: 'APP_NOT_FOUND_IN_TENANT',
  7000215: 'INVALID_CLIENT_SECRET',
  7000222: 'INVALID_CLIENT_SECRET',
  700027: 'INVALID_CLIENT_ASSERTION',
  700024: 'INVALID_CLIENT_ASSERTION',
  700023: 'INVALID_CLIENT_ASSERTION',
  700021: 'INVALID_CLIENT_ASSERTION',
  70021: 'INVALID_CLIENT_ASSERTION',
  // "No matching federated identity record found for presented assertion subject" / "... issuer" (AADSTS700213,
  // AADSTS700212 in entra-docs reference-error-codes and workload-identity-federation troubleshooting)
  700213: 'INVALID_CLIENT_ASSERTION',
  700212: 'INVALID_CLIENT_ASSERTION',
  700211: 'INVALID_CLIENT_ASSERTION',
  500011: 'RESOURCE_NOT_FOUND',
  90002: 'TENANT_NOT_FOUND',
  900023: 'INVALID_TENANT',
  65001: 'CONSENT_REQUIRED',
  70011: 'INVALID_SCOPE',
  // "Client credential flows must have a scope value with /.default suffixed to the resource identifier"
  // (entra-docs reference-error-codes: AADSTS1002012; the error a bare org URL or a user scope gets).
  1002012: 'INVALID_SCOPE',
  7000112: 'UNAUTHORIZED_CLIENT',
  700025: 'UNAUTHORIZED_CLIENT',
  53003: 'UNAUTHORIZED_CLIENT',
}

function describe(code: TokenErrorCode, n: number | undefined, ctx: MappingContext): string {
  const aadsts = n !== undefined ? ` (AADSTS${n})` : ''
  const { clientId, tenantId, resource } = ctx
  switch (code) {
    case 'APP_NOT_FOUND_IN_TENANT':
      return `The app ${clientId} has no service principal in tenant ${tenantId}${aadsts}: an administrator of that tenant must consent to the app first (${ctx.consentUrl(tenantId)}), or the tenant id is wrong (find the right one with discoverTenant(orgUrl))`
    case 'INVALID_CLIENT_SECRET':
      return n === 7000222
        ? `The client secret of app ${clientId} has expired${aadsts}: create a new secret in the app registration and configure it`
        : `The client secret is not valid for app ${clientId}${aadsts}: use the secret's Value (not its Secret ID) from the app registration, and check it has not been deleted or rotated`
    case 'INVALID_CLIENT_ASSERTION':
      if (ctx.federatedManagedIdentity)
        return `Entra ID does not trust the managed identity as a credential of app ${clientId}${aadsts}: add a federated identity credential to the app registration with issuer {authorityHost}/{tenant of the identity}/v2.0, subject = the managed identity's object (principal) id and audience api://AzureADTokenExchange (the cloud's variant in sovereign clouds); see docs/guides/deploy-azure.md`
      return `Entra ID refused the client assertion of app ${clientId}${aadsts}: check that the certificate (by its SHA-256 thumbprint) is uploaded to the app registration, or that the federated credential matches the assertion's issuer and subject`
    case 'RESOURCE_NOT_FOUND':
      return `The resource ${resource} is not known in tenant ${tenantId}${aadsts}: check the org URL, that the org belongs to this tenant (discoverTenant(orgUrl) tells), and that Dynamics 365 is provisioned there`
    case 'TENANT_NOT_FOUND':
      return `Tenant ${tenantId} does not exist in this cloud${aadsts}: check the tenant id (discoverTenant(orgUrl) finds it) and that the provider uses the org's cloud`
    case 'INVALID_TENANT':
      return `Tenant ${tenantId} is not a valid tenant identifier${aadsts}: pass the tenant's GUID or verified domain`
    case 'CONSENT_REQUIRED':
      return `The app ${clientId} lacks consent in tenant ${tenantId}${aadsts}: an administrator of that tenant must grant it (${ctx.consentUrl(tenantId)})`
    case 'INVALID_SCOPE':
      if (n === 1002012)
        return `The scope for ${resource} has no /.default suffix${aadsts}: client credentials take exactly one scope, the resource followed by /.default (https://{org}.crm.dynamics.com/.default); pass the org URL as the resource and let the provider add /.default`
      return `The scope ${resource}/.default was refused${aadsts}: pass the org URL as the resource (https://{org}.crm.dynamics.com)`
    case 'UNAUTHORIZED_CLIENT':
      return `The app ${clientId} is not allowed to get tokens in tenant ${tenantId}${aadsts}: check that it is enabled in the tenant's Enterprise applications and not blocked by a Conditional Access policy`
    case 'THROTTLED':
      return `Entra ID throttled token requests for tenant ${tenantId}: retry later`
    case 'NETWORK':
      return ctx.managedIdentity
        ? 'The managed identity endpoint could not be reached: check that the app runs where a managed identity is available'
        : `Entra ID could not be reached for tenant ${tenantId}: check the network and the cloud's authority host`
    case 'TIMEOUT':
      return `Entra ID did not answer in time for tenant ${tenantId}: retry later or raise the timeout`
    case 'MANAGED_IDENTITY_UNAVAILABLE':
      return 'No managed identity is available here: run in Azure with a managed identity assigned, or use another credential'
    default:
      return `The token request for tenant ${tenantId} and resource ${resource} failed${aadsts}`
  }
}

function aadstsNumber(e: MsalLikeError): number | undefined {
  const fromNo = e.errorNo ? Number.parseInt(e.errorNo, 10) : Number.NaN
  if (Number.isFinite(fromNo)) return fromNo
  const m = /AADSTS(\d+)/.exec(`${e.errorMessage ?? ''} ${e.message ?? ''}`)
  return m ? Number(m[1]) : undefined
}

/** Turns anything MSAL (or our transport) threw into a TokenError whose message says what to do. */
export function toTokenError(error: unknown, ctx: MappingContext): TokenError {
  if (error instanceof TokenError) return error
  const e = (error ?? {}) as MsalLikeError
  const n = aadstsNumber(e)
  let code: TokenErrorCode | undefined = n !== undefined ? byNumber[n] : undefined
  const chain = causes(error)
  if (!code) {
    if (chain.some((c) => c instanceof HttpTimeoutError) || transport(ctx) instanceof HttpTimeoutError)
      code = 'TIMEOUT'
    else if (e.status === 429 || e.errorCode === 'temporarily_unavailable') code = 'THROTTLED'
    else if (
      chain.some((c) => c instanceof HttpNetworkError) ||
      transport(ctx) instanceof HttpNetworkError ||
      e.errorCode === 'network_error' ||
      e.name === 'NetworkError'
    )
      code = 'NETWORK'
    else if (
      ctx.managedIdentity &&
      /managed.?identity|unable_to_create_source|no_managed_identity/i.test(e.errorCode ?? '')
    )
      code = 'MANAGED_IDENTITY_UNAVAILABLE'
    else if (e.errorCode === 'invalid_client') code = 'INVALID_CLIENT_SECRET'
    else if (e.errorCode === 'unauthorized_client') code = 'UNAUTHORIZED_CLIENT'
    else code = 'TOKEN_REQUEST_FAILED'
  }
  const details: TokenErrorDetails = { tenantId: ctx.tenantId, resource: ctx.resource }
  if (n !== undefined) details.aadsts = n
  if (e.errorCode) details.oauthError = e.errorCode
  if (e.correlationId) details.correlationId = e.correlationId
  if (code === 'APP_NOT_FOUND_IN_TENANT' || code === 'CONSENT_REQUIRED') {
    details.consentUrl = ctx.consentUrl(ctx.tenantId)
  }
  return new TokenError(code, redact(describe(code, n, ctx), ctx.secrets), {
    cause: error instanceof Error ? error : new Error(redact(String(error), ctx.secrets)),
    details,
  })
}

function causes(error: unknown): Error[] {
  const out: Error[] = []
  let cur: unknown = error
  for (let i = 0; i < 5 && cur instanceof Error; i++) {
    out.push(cur)
    cur = (cur as { cause?: unknown }).cause
  }
  return out
}
