import {
  type Cloud,
  clientCertificate,
  clientSecret,
  createTokenProvider,
  isCoreError,
  type TokenErrorCode,
} from '@dataverse-s2s/core'
import type { AppConfig } from '../server/config.ts'
import { splitPem } from '../server/services.ts'
import type { CheckResult } from './report.ts'

// Microsoft Graph's root per cloud (Learn: "Microsoft Graph national cloud deployments"; GCC moderate uses the global
// service). Graph has a service principal in every tenant, so an app-only token for it tests the credential alone.
const GRAPH: Record<string, string> = {
  public: 'https://graph.microsoft.com',
  gcc: 'https://graph.microsoft.com',
  'gcc-high': 'https://graph.microsoft.us',
  dod: 'https://dod-graph.microsoft.us',
  china: 'https://microsoftgraph.chinacloudapi.cn',
}

/** The Microsoft Graph root of a cloud (a stand-in for Entra ID gets the global one). */
export function graphResource(cloud: Cloud): string {
  return GRAPH[cloud.name] ?? 'https://graph.microsoft.com'
}

const FIX: Partial<Record<TokenErrorCode, string>> = {
  INVALID_CLIENT_SECRET:
    "ENTRA_CLIENT_SECRET must be the secret's Value (shown once when it is created), not its Secret ID: create a new secret under Certificates & secrets if you no longer have it",
  INVALID_CLIENT_ASSERTION:
    'upload the certificate of ENTRA_CERTIFICATE_PATH (its public part, a .cer or .pem) to the app registration under Certificates & secrets, or point ENTRA_CERTIFICATE_PATH at the one registered there',
  INVALID_CREDENTIAL:
    'ENTRA_CERTIFICATE_PATH must hold the certificate and the private key it was made from, valid today (see the certificate step)',
  APP_NOT_FOUND_IN_TENANT:
    'ENTRA_CLIENT_ID must be the Application (client) id of a registration in ENTRA_TENANT_ID: copy both from the app registration’s Overview page',
  TENANT_NOT_FOUND:
    'ENTRA_TENANT_ID must be your own tenant: copy the Directory (tenant) id from the app registration’s Overview page',
  INVALID_TENANT:
    'ENTRA_TENANT_ID must be your own tenant’s id (a GUID) or verified domain, not common or organizations',
  UNAUTHORIZED_CLIENT:
    'the app may not use the client-credentials flow in your tenant (disabled, or blocked by a Conditional Access policy for workload identities): ask your Entra administrator',
  NETWORK: 'check the network path to the authority (proxy, firewall) and ENTRA_CA_FILE for a stand-in',
  TIMEOUT: 'the authority did not answer in time: check the network path to it and try again',
}

/**
 * Step 3: Entra ID accepts the credential in the home tenant: an app-only token for Microsoft Graph through
 * `@dataverse-s2s/core` (the same provider the server uses). The token is never shown.
 */
export async function checkCredential(
  config: AppConfig & { entra: NonNullable<AppConfig['entra']> },
  cloud: Cloud,
  options: { timeoutMs: number },
): Promise<CheckResult> {
  const step = 'credential'
  const { entra } = config
  const kind = entra.certificatePem ? 'certificate' : 'client secret'
  if (!entra.homeTenantId) {
    return {
      step,
      status: 'fail',
      detail: `the ${kind} cannot be tried without the app's home tenant`,
      fix: 'set ENTRA_TENANT_ID to the Directory (tenant) id on the app registration’s Overview page (only the doctor uses it)',
    }
  }
  const resource = graphResource(cloud)
  try {
    const credential = entra.certificatePem
      ? clientCertificate(splitPem(entra.certificatePem))
      : clientSecret(entra.clientSecret ?? '')
    const tokens = createTokenProvider({
      clientId: entra.clientId,
      credential,
      cloud,
      http: { ...(entra.caPem ? { ca: entra.caPem } : {}), timeoutMs: options.timeoutMs },
      logger: { warn() {}, error() {} },
    })
    await tokens.getToken({ tenantId: entra.homeTenantId, resource })
  } catch (error) {
    const code = isCoreError(error) ? error.code : undefined
    const fix = (code && FIX[code as TokenErrorCode]) ?? 'see the message above'
    return {
      step,
      status: 'fail',
      detail: `no token for app ${entra.clientId} with its ${kind} in tenant ${entra.homeTenantId}${code ? ` (${code})` : ''}: ${error instanceof Error ? error.message : String(error)}`,
      fix,
    }
  }
  return {
    step,
    status: 'ok',
    detail: `Entra ID accepted the ${kind}: an app-only token for ${resource} in tenant ${entra.homeTenantId}`,
  }
}
