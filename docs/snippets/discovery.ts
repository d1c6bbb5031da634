import { type CloudInput, discoverOrganizations } from '@dataverse-s2s/core'

/** The environments a signed-in user can pick, from the Global Discovery Service of their cloud. */
export async function environmentsOf(userToken: string, cloud: CloudInput = 'public', ca?: string) {
  // #region discover
  // userToken: the user's delegated token for discoveryScope(cloud),
  // e.g. 'https://globaldisco.crm.dynamics.com/user_impersonation' on the public cloud
  const environments = await discoverOrganizations(userToken, { cloud, ...(ca ? { http: { ca } } : {}) })
  return environments.map((e) => ({ label: e.friendlyName, orgUrl: e.apiUrl }))
  // #endregion discover
}
