import {
  buildAdminConsentUrl,
  ConsentError,
  type ConsentStateManager,
  cloudFromOrgUrl,
  createTenantDiscovery,
  parseAdminConsentRedirect,
  resolveCloud,
} from '@dataverse-s2s/core'
import {
  createDataverseClient,
  type DataverseClient,
  ensureApplicationUser,
  getRootBusinessUnit,
  verifyAccess,
} from '@dataverse-s2s/webapi'
import type { Setup } from './setup.ts'

export function recogniseClouds() {
  // #region clouds
  cloudFromOrgUrl('https://contoso.crm4.dynamics.com')?.name // 'public'
  cloudFromOrgUrl('https://contoso.crm9.dynamics.com')?.name // 'gcc'
  cloudFromOrgUrl('https://contoso.crm.microsoftdynamics.us')?.name // 'gcc-high'
  cloudFromOrgUrl('https://contoso.crm.appsplatform.us')?.name // 'dod'
  cloudFromOrgUrl('https://contoso.crm.dynamics.cn')?.name // 'china'
  cloudFromOrgUrl('https://contoso.example.com') // undefined: not a Dataverse host

  const gccHigh = resolveCloud('gcc-high')
  gccHigh.authorityHost // 'https://login.microsoftonline.us'
  // #endregion clouds
  return {
    names: [
      'https://contoso.crm4.dynamics.com',
      'https://contoso.crm9.dynamics.com',
      'https://contoso.crm.microsoftdynamics.us',
      'https://contoso.crm.appsplatform.us',
      'https://contoso.crm.dynamics.cn',
      'https://contoso.example.com',
    ].map((url) => cloudFromOrgUrl(url)?.name),
    gccHighAuthority: gccHigh.authorityHost,
  }
}

export async function discover(setup: Setup, orgUrl: string) {
  const { cloud, ca } = setup
  // #region discover
  // One discovery per process: answers are cached per org (and checked: https, a host of the cloud, a trusted
  // login host in the challenge, a GUID tenant, a timeout).
  const discovery = createTenantDiscovery({ cloud, http: { ca } })

  const { tenantId, authority } = await discovery.discover(orgUrl)
  // tenantId:  '3b4c5d6e-…', the tenant that owns the org
  // authority: `${loginHost}/${tenantId}`, where its app-only tokens come from
  // #endregion discover
  return { tenantId, authority }
}

export async function declinedConsent(setup: Setup, states: ConsentStateManager, sessionId: string) {
  const { clientId, cloud, fabrikam } = setup
  const url = buildAdminConsentUrl({
    clientId,
    cloud,
    tenant: fabrikam.tenantId,
    redirectUri: 'http://localhost:3000/onboarding/callback',
    resource: fabrikam.orgUrl,
    state: states.create(sessionId),
  })
  return {
    url,
    async handle(callbackUrl: string) {
      // #region declined
      try {
        const { tenantId } = await parseAdminConsentRedirect(new URL(callbackUrl), { states, sessionId })
        return { connected: tenantId }
      } catch (error) {
        if (error instanceof ConsentError && error.code === 'CONSENT_DENIED') {
          // The admin pressed Cancel, or is not allowed to consent: nothing was created in their tenant.
          return { message: 'An administrator must accept the permissions to connect your organization.' }
        }
        throw error // INVALID_STATE, STATE_EXPIRED, STATE_REUSED, …: start again
      }
      // #endregion declined
    },
  }
}

export async function checkConnection(asApp: DataverseClient) {
  // #region verify
  const report = await verifyAccess(asApp, { readableEntitySets: ['accounts', 'contacts'] })
  if (!report.ok) {
    for (const problem of report.problems) console.warn(problem.kind, problem.message)
    // e.g. "This app has no (enabled) application user in this org: …"
  }
  // #endregion verify
  return report
}

export async function rootBusinessUnit(asAdmin: DataverseClient) {
  // #region root-bu
  const root = await getRootBusinessUnit(asAdmin) // { businessUnitId, name }
  // #endregion root-bu
  return root
}

export async function provisionWithAdminToken(setup: Setup, orgUrl: string, adminToken: string) {
  const { clientId, ca } = setup
  // #region provision
  // The customer admin's own delegated token for the org (scope `{orgUrl}/user_impersonation`), used for these calls
  // and dropped: never stored, never logged.
  const asAdmin = createDataverseClient({ url: orgUrl, getToken: () => adminToken, ca })
  const created = await ensureApplicationUser(asAdmin, {
    applicationId: clientId,
    roles: ['Dataverse S2S Connector'], // the role your solution installs
  })
  // created: { systemUserId, created, enabled, rolesAdded }; a second call changes nothing
  // #endregion provision
  return created
}
