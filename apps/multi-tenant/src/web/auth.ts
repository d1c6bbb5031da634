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
