import type { VerifiedUser } from '@dataverse-s2s/core'
import type { DataverseClient } from '@dataverse-s2s/webapi'

/** The customer tenant a request belongs to, as your tenant registry knows it. */
export interface DataverseTenant {
  /** Entra tenant id (lower-case GUID), the `tid` of its users' tokens. */
  tenantId: string
  /** The tenant's Dataverse org URL, e.g. `https://contoso.crm.dynamics.com`. */
  orgUrl: string
  /** Whether the tenant may use the app now (onboarded, verified, not offboarded). */
  active: boolean
  /** Why an inactive tenant is refused, shown to its users, e.g. "Your organization was offboarded on …". */
  reason?: string
  /** Anything else your registry keeps (display name, plan, …). */
  [key: string]: unknown
}

/** How a request acts in Dataverse: as the app's application user, or as the signed-in user (impersonation). */
export type DataverseActor = 'app' | 'user'

declare module 'hono' {
  interface ContextVariableMap {
    /** The verified signed-in user (set by `verifyUser`). */
    user: VerifiedUser
    /** The user's customer tenant (set by `resolveTenant`). */
    tenant: DataverseTenant
    /** A client for the tenant's org (set by `dataverseClient`); impersonates the user when `actor` is `user`. */
    dataverse: DataverseClient
    /** A client for the tenant's org that always acts as the application user. */
    dataverseAsApp: DataverseClient
    /** Who `dataverse` acts as. */
    actor: DataverseActor
  }
}
