import type {
  CloudInput,
  ConsentStateManager,
  Logger,
  TenantDiscovery,
  TokenProvider,
  UserTokenVerifier,
  VerifiedUser,
} from '@dataverse-s2s/core'
import type { DataverseClientCache } from '../dataverse.ts'
import { isTenantAdministrator } from './admins.ts'
import type { TenantRegistry } from './types.ts'

/** Options of {@link onboardingRouter}. */
export interface OnboardingRouterOptions {
  /** Where tenants, their events and used consent states live ({@link createSqlTenantRegistry}). */
  registry: TenantRegistry
  /**
   * Verifies the signed-in admin's access token for your API. It must let users of **any** tenant through
   * (`isTenantAllowed: () => true`): the admin of a tenant that is not onboarded yet signs in before connecting it.
   * Every route then checks that the user administers their own tenant.
   */
  verifier: UserTokenVerifier
  /** App-only tokens: the proof that the consent took effect, and the connection checks. */
  tokens: Pick<TokenProvider, 'getToken' | 'invalidate'>
  /** Finds the tenant of an org URL (`createTenantDiscovery` from core). */
  discovery: Pick<TenantDiscovery, 'discover'>
  /** Signs the consent `state` and the completion ticket; give it `registry.consumeConsentState` as its store. */
  states: ConsentStateManager
  /** The app's client id. */
  clientId: string
  /** Cloud of Entra ID (default `public`). */
  cloud?: CloudInput
  /** The public origin of the app (e.g. `https://app.example.com`); the consent redirect goes to its `callbackPath`. */
  publicUrl: string
  /** The Dataverse security role given to the application user (it ships in your solution). */
  roleName: string
  /** Clients per tenant and org, shared with `dataverseClient` so a changed org or an offboarding drops them. */
  clients: DataverseClientCache
  /** Client options (CA, user agent) for the admin's own Dataverse client during provisioning. */
  client?: { ca?: string; userAgent?: string }
  /** Entity sets the app user must be able to read for a connection to count as verified (default `['accounts']`). */
  verifyTables?: readonly string[]
  /** Prefix of the JSON routes (default `/api/onboarding`). */
  basePath?: string
  /** Path of the admin-consent redirect URI registered on the app (default `/onboarding/callback`). */
  callbackPath?: string
  /** Where the callback sends the browser, with `?ticket=…` or `?error=…&message=…` (default `/#/onboarding`). */
  completePage?: string
  /** Who may administer a tenant's connection (default {@link isTenantAdministrator}: directory role or app role). */
  isAdministrator?: (user: VerifiedUser, tenantId: string) => boolean
  /** Name of the browser-session cookie binding a consent to the browser (default `__Host-dvs2s-session`). */
  cookieName?: string
  /** Log lines (codes and tenant ids; never a token, a state or a ticket). */
  logger?: Logger
}

/** The options with their defaults, as the routes use them. */
export type OnboardingContext = Required<Omit<OnboardingRouterOptions, 'cloud' | 'client' | 'logger'>> &
  Pick<OnboardingRouterOptions, 'cloud' | 'client'> & { logger: Logger; redirectUri: string }

export function resolveOptions(options: OnboardingRouterOptions): OnboardingContext {
  const base = (options.basePath ?? '/api/onboarding').replace(/\/+$/, '')
  const callbackPath = options.callbackPath ?? '/onboarding/callback'
  return {
    ...options,
    verifyTables: options.verifyTables ?? ['accounts'],
    basePath: base,
    callbackPath,
    completePage: options.completePage ?? '/#/onboarding',
    isAdministrator: options.isAdministrator ?? ((user, tid) => isTenantAdministrator(user, tid)),
    cookieName: options.cookieName ?? '__Host-dvs2s-session',
    logger: options.logger ?? {},
    redirectUri: `${options.publicUrl.replace(/\/+$/, '')}${callbackPath}`,
  }
}
