import { randomUUID } from 'node:crypto'
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

/** Entra's timestamp form in error bodies: `2023-05-06 06:03:00Z`. */
export function aadTimestamp(date = new Date()): string {
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z')
}

/** The OAuth error body Entra ID returns (observed shape: error, error_description ending in the trace/correlation
 * lines, error_codes, timestamp, trace_id, correlation_id, error_uri). Correlation id = the client's
 * `client-request-id` when it sent one, as Entra does. */
export interface AadErrorBody {
  error: string
  error_description: string
  error_codes: number[]
  timestamp: string
  trace_id: string
  correlation_id: string
  error_uri: string
  suberror?: string
}

export function aadErrorBody(
  authorityUrl: string,
  error: string,
  code: number,
  message: string,
  correlationId: string = randomUUID(),
  suberror?: string,
): AadErrorBody {
  const traceId = randomUUID()
  const timestamp = aadTimestamp()
  return {
    error,
    error_description: `AADSTS${code}: ${message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `${authorityUrl}/error?code=${code}`,
    ...(suberror === undefined ? {} : { suberror }),
  }
}

/** An Entra error as a value the endpoints return or throw. */
export class AadError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly error: string,
    readonly code: number,
    readonly description: string,
    readonly suberror?: string,
  ) {
    super(`AADSTS${code}: ${description}`)
  }

  respond(c: Context, authorityUrl: string): Response {
    const correlation = c.req.header('client-request-id')
    const body = aadErrorBody(
      authorityUrl,
      this.error,
      this.code,
      this.description,
      correlation,
      this.suberror,
    )
    return c.json(body, this.status)
  }
}

// Texts follow what Entra returns (as quoted in public issue reports, e.g. AzureAD/microsoft-authentication-library-for-js,
// Azure/azure-cli, Azure/login); codes from learn.microsoft.com "Microsoft Entra authentication and authorization error codes".
export const aad = {
  // Entra documents no body limit; its front end answers 413. The emulator keeps its usual error shape, with
  // AADSTS90100 (InvalidRequestParameter: "the parameter is empty or not valid").
  tooLarge: (maxBytes: number) =>
    new AadError(
      413,
      'invalid_request',
      90100,
      `The request body is larger than this endpoint accepts (${maxBytes} bytes). Send only the OAuth parameters.`,
    ),
  missingParameter: (name: string) =>
    new AadError(
      400,
      'invalid_request',
      900144,
      `The request body must contain the following parameter: '${name}'.`,
    ),
  unsupportedGrant: (grant: string) =>
    new AadError(
      400,
      'unsupported_grant_type',
      70003,
      `The app requested an unsupported grant type '${grant}'.`,
    ),
  unknownTenant: (tenant: string) =>
    new AadError(
      400,
      'invalid_tenant',
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
    ),
  noTenantInfo: () =>
    new AadError(
      400,
      'invalid_request',
      50059,
      'No tenant-identifying information found in either the request or implied by any provided credentials.',
    ),
  appNotFound: (appId: string, tenantName: string) =>
    new AadError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${appId}' was not found in the directory '${tenantName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    ),
  invalidSecret: (appId: string) =>
    new AadError(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${appId}'.`,
    ),
  expiredSecret: (appId: string) =>
    new AadError(
      401,
      'invalid_client',
      7000222,
      `The provided client secret keys for app '${appId}' are expired.`,
    ),
  missingCredential: () =>
    new AadError(
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    ),
  publicClientWithCredential: () =>
    new AadError(
      401,
      'invalid_client',
      700025,
      "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
    ),
  // The exact code for each assertion defect is not all documented; 50027 ("invalid or malformed JWT") is used for
  // audience, issuer and replay defects, 700024 / 700027 where Entra's texts are known.
  malformedAssertion: (reason: string) =>
    new AadError(400, 'invalid_request', 50027, `JWT token is invalid or malformed. ${reason}`),
  assertionTimeRange: (now: Date, nbf: number | undefined, exp: number | undefined) =>
    new AadError(
      401,
      'invalid_client',
      700024,
      `Client assertion is not within its valid time range. Current time: ${now.toISOString()}, assertion valid from ${new Date((nbf ?? 0) * 1000).toISOString()}, expiry time of assertion ${new Date((exp ?? 0) * 1000).toISOString()}.`,
    ),
  certificateNotRegistered: (appId: string, thumbprint: string) =>
    new AadError(
      401,
      'invalid_client',
      700027,
      `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${appId}'.]`,
    ),
  assertionSignature: () =>
    new AadError(401, 'invalid_client', 700027, 'Client assertion failed signature validation.'),
  assertionClientMismatch: () =>
    new AadError(
      401,
      'invalid_client',
      700021,
      "Client assertion application identifier doesn't match 'client_id' parameter.",
    ),
  scopeNotDefault: (scope: string) =>
    new AadError(
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    ),
  invalidScope: (scope: string) =>
    new AadError(
      400,
      'invalid_scope',
      70011,
      `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`,
    ),
  unknownResource: (resource: string, tenantName: string) =>
    new AadError(
      400,
      'invalid_resource',
      500011,
      `The resource principal named ${resource} was not found in the tenant named ${tenantName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
    ),
  consentRequired: (appId: string, appName: string) =>
    new AadError(
      400,
      'invalid_grant',
      65001,
      `The user or administrator has not consented to use the application with ID '${appId}' named '${appName}'. Send an interactive authorization request for this user and resource.`,
      'consent_required',
    ),
  invalidGrant: (code: number, message: string) => new AadError(400, 'invalid_grant', code, message),
  invalidRequest: (code: number, message: string) => new AadError(400, 'invalid_request', code, message),
  loginRequired: () =>
    new AadError(400, 'login_required', 50058, 'A silent sign-in request was sent but no user is signed in.'),
  /** Sent to the redirect URI when a user flow needs consent that the user cannot give (or prompt=none). */
  consentRequiredRedirect: (appId: string, appName: string) =>
    new AadError(
      400,
      'consent_required',
      65001,
      `The user or administrator has not consented to use the application with ID '${appId}' named '${appName}'. Send an interactive authorization request for this user and resource.`,
    ),
  pkceRequired: () =>
    new AadError(
      400,
      'invalid_request',
      9002325,
      'Proof Key for Code Exchange is required for cross-origin authorization code redemption.',
    ),
  declined: () => new AadError(400, 'access_denied', 65004, 'User declined to consent to access the app.'),
  adminOnly: () =>
    new AadError(
      400,
      'access_denied',
      90093,
      "This operation can only be performed by an administrator. Sign out and sign in as an administrator or contact one of your organization's administrators.",
    ),
  redirectMismatch: (uri: string, appId: string) =>
    new AadError(
      400,
      'invalid_request',
      50011,
      `The redirect URI '${uri}' specified in the request does not match the redirect URIs configured for the application '${appId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.`,
    ),
  spaCrossOriginOnly: () =>
    new AadError(
      400,
      'invalid_request',
      9002327,
      "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
    ),
  crossOriginNotSpa: (origin: string) =>
    new AadError(
      400,
      'invalid_request',
      9002326,
      `Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type. Request origin: '${origin}'.`,
    ),
}
