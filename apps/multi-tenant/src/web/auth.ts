import {
  type AccountInfo,
  type AuthenticationResult,
  InteractionRequiredAuthError,
  PublicClientApplication,
} from '@azure/msal-browser'

/** What the API's `/api/config` tells the SPA. */
export interface SpaConfig {
  clientId: string
  authority: string
  authorityHost: string
  knownAuthorities: string[]
  apiScope: string
  redirectUri: string
  mode: 'emulator' | 'entra'
  /** The Global Discovery Service origin and scope, when the cloud has one (the environment picker). */
  discoveryUrl?: string
  discoveryScope?: string
}

let pca: PublicClientApplication
let config: SpaConfig

/**
 * Starts MSAL (multi-tenant authority `organizations`) and finishes a sign-in redirect if there is one.
 * Returns that redirect's result (it may carry an org token requested for onboarding).
 */
export async function initAuth(spa: SpaConfig): Promise<AuthenticationResult | null> {
  config = spa
  pca = new PublicClientApplication({
    auth: {
      clientId: spa.clientId,
      authority: spa.authority,
      knownAuthorities: spa.knownAuthorities,
      redirectUri: spa.redirectUri,
      postLogoutRedirectUri: spa.redirectUri,
    },
    cache: { cacheLocation: 'sessionStorage' },
  })
  await pca.initialize()
  const result = await pca.handleRedirectPromise()
  if (result?.account) pca.setActiveAccount(result.account)
  else if (!pca.getActiveAccount()) {
    const [first] = pca.getAllAccounts()
    if (first) pca.setActiveAccount(first)
  }
  return result
}

export function account(): AccountInfo | null {
  return pca.getActiveAccount()
}

/** Sends the user to sign in (any work or school account); they come back to `returnTo` (a hash route). */
export async function signIn(returnTo = '#/'): Promise<void> {
  sessionStorage.setItem('returnTo', returnTo)
  await pca.loginRedirect({ scopes: [config.apiScope], prompt: 'select_account' })
}

export async function signOut(): Promise<void> {
  const current = pca.getActiveAccount()
  await pca.logoutRedirect(current ? { account: current } : {})
}

/** An access token for this app's API (`api://<clientId>/access_as_user`). */
export async function apiToken(): Promise<string> {
  return (await tokenFor([config.apiScope])).accessToken
}

/** An environment the signed-in user can access, from the Global Discovery Service. */
export interface Environment {
  friendlyName: string
  apiUrl: string
  uniqueName: string
  /** The Global Discovery Service's `IsUserSysAdmin`: the automatic set-up needs a System Administrator. */
  isSysAdmin: boolean
}

/**
 * The environments of the signed-in admin (Learn: "Discover user organizations": `GET {gds}/api/discovery/v2.0/
 * Instances` with a delegated token for the GDS). `undefined` when the cloud has no discovery service. Only a
 * convenience to fill the org URL: the API still checks that the chosen org belongs to the admin's tenant.
 */
export async function environments(): Promise<Environment[] | undefined> {
  if (!config.discoveryUrl || !config.discoveryScope) return undefined
  const token = (await tokenFor([config.discoveryScope])).accessToken
  const res = await fetch(
    `${config.discoveryUrl}/api/discovery/v2.0/Instances?$select=FriendlyName,ApiUrl,UniqueName,IsUserSysAdmin&$filter=State eq 0`,
    { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } },
  )
  if (!res.ok)
    throw new Error(`The list of your environments is not available (${res.status}); type the org URL.`)
  const body = (await res.json()) as {
    value: { FriendlyName: string; ApiUrl: string; UniqueName: string; IsUserSysAdmin?: boolean }[]
  }
  return body.value.map((i) => ({
    friendlyName: i.FriendlyName,
    apiUrl: i.ApiUrl,
    uniqueName: i.UniqueName,
    isSysAdmin: i.IsUserSysAdmin === true,
  }))
}

/**
 * The signed-in admin's own delegated token for their Dataverse org (`{org}/user_impersonation`), used once by the
 * API to create the application user. May redirect; `pending` tells the SPA what to do when it comes back.
 */
export async function orgToken(orgUrl: string, tenantId: string, pending: string): Promise<string> {
  return (await tokenFor([`${orgUrl}/user_impersonation`], `${config.authorityHost}/${tenantId}`, pending))
    .accessToken
}

async function tokenFor(
  scopes: string[],
  authority?: string,
  pending?: string,
): Promise<AuthenticationResult> {
  const current = pca.getActiveAccount()
  if (!current) throw new Error('Sign in first.')
  const request = { scopes, account: current, ...(authority ? { authority } : {}) }
  try {
    return await pca.acquireTokenSilent(request)
  } catch (error) {
    if (!(error instanceof InteractionRequiredAuthError)) throw error
    if (pending) sessionStorage.setItem('pending', pending)
    await pca.acquireTokenRedirect(request)
    throw new Error('Redirecting to sign in…')
  }
}
