import type { Cloud } from '@dataverse-s2s/core'
import { getJson } from './http.ts'
import type { CheckResult } from './report.ts'

/**
 * Step 2: the OpenID Connect metadata of the authority the SPA signs in with (`{host}/organizations`), and of the
 * home tenant when `ENTRA_TENANT_ID` is set, answer and are well formed: https endpoints on the authority's host and
 * a JWKS with keys (the verifier checks every user token against it).
 */
export async function checkDiscovery(
  cloud: Cloud,
  options: { ca?: string; homeTenantId?: string; timeoutMs: number },
): Promise<CheckResult> {
  const step = 'OIDC discovery'
  const authorities = ['organizations', ...(options.homeTenantId ? [options.homeTenantId] : [])]
  const caFix = options.ca ? '' : ' (a stand-in with its own CA also needs ENTRA_CA_FILE)'
  for (const tenant of authorities) {
    const url = `${cloud.authorityHost}/${tenant}/v2.0/.well-known/openid-configuration`
    let res: Awaited<ReturnType<typeof getJson>>
    try {
      res = await getJson(url, options)
    } catch (error) {
      return {
        step,
        status: 'fail',
        detail: `${url}: ${(error as Error).message}`,
        fix: `check the network path to ${cloud.authorityHost} (proxy, firewall, DNS)${caFix}; ENTRA_CLOUD or ENTRA_AUTHORITY_HOST chooses the host`,
      }
    }
    if (res.status !== 200) {
      const unknownTenant = tenant !== 'organizations' && (res.status === 400 || res.status === 404)
      return {
        step,
        status: 'fail',
        detail: `${url} answered ${res.status}`,
        fix: unknownTenant
          ? `ENTRA_TENANT_ID "${tenant}" is not a tenant of ${cloud.authorityHost}: copy the Directory (tenant) id from the app registration's Overview page`
          : `${cloud.authorityHost} is not an Entra ID authority: check ENTRA_CLOUD or ENTRA_AUTHORITY_HOST`,
      }
    }
    const problem = malformed(res.body, cloud.authorityHost)
    if (problem) {
      return {
        step,
        status: 'fail',
        detail: `${url}: ${problem}`,
        fix: `${cloud.authorityHost} does not serve Entra ID's v2.0 metadata: check ENTRA_CLOUD or ENTRA_AUTHORITY_HOST`,
      }
    }
    const jwksUri = (res.body as { jwks_uri: string }).jwks_uri
    let keys: Awaited<ReturnType<typeof getJson>>
    try {
      keys = await getJson(jwksUri, options)
    } catch (error) {
      return {
        step,
        status: 'fail',
        detail: `${jwksUri}: ${(error as Error).message}`,
        fix: `check the network path to ${cloud.authorityHost}${caFix}`,
      }
    }
    const list = (keys.body as { keys?: unknown } | undefined)?.keys
    if (keys.status !== 200 || !Array.isArray(list) || list.length === 0) {
      return {
        step,
        status: 'fail',
        detail: `${jwksUri} answered ${keys.status} without signing keys`,
        fix: `${cloud.authorityHost} does not publish signing keys: check ENTRA_CLOUD or ENTRA_AUTHORITY_HOST`,
      }
    }
  }
  return {
    step,
    status: 'ok',
    detail: `${authorities.map((t) => `${cloud.authorityHost}/${t}`).join(' and ')}: metadata and signing keys served`,
  }
}

function malformed(body: unknown, authorityHost: string): string | undefined {
  if (!body || typeof body !== 'object') return 'the answer is not JSON'
  const m = body as Record<string, unknown>
  for (const field of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri']) {
    const value = m[field]
    if (typeof value !== 'string') return `"${field}" is missing`
    let url: URL
    try {
      url = new URL(value)
    } catch {
      return `"${field}" is not a URL`
    }
    if (url.protocol !== 'https:') return `"${field}" is not https`
    // the issuer of Microsoft's clouds may differ in host (login.microsoftonline.com vs sts), the endpoints may not
    if (field !== 'issuer' && url.origin !== authorityHost)
      return `"${field}" is on ${url.origin}, not ${authorityHost}`
  }
  return undefined
}
