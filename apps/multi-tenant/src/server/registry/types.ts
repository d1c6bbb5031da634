/** Where a customer tenant is in its life with the app. Only `verified` tenants' users get data. */
export type TenantStatus = 'consented' | 'provisioned' | 'verified' | 'offboarded'

/** One customer tenant as the registry keeps it. */
export interface TenantRecord {
  tenantId: string
  orgUrl: string
  status: TenantStatus
  /** Who connected it: object id and name of the admin who provisioned or verified it. */
  onboardedBy: string | null
  onboardedByName: string | null
  consentedAt: Date
  provisionedAt: Date | null
  verifiedAt: Date | null
  offboardedAt: Date | null
  /** The last connection check (WhoAmI as the app): when, and what it found. */
  lastCheckAt: Date | null
  lastCheckOk: boolean | null
  lastCheckDetail: string | null
  createdAt: Date
  updatedAt: Date
}

/** The result of a connection check, recorded on the tenant. */
export interface ConnectionCheck {
  ok: boolean
  detail: string
}

/**
 * The tenant registry: a small interface so the embedded PGlite database can be swapped for PostgreSQL (same SQL)
 * or anything else when the app scales out.
 */
export interface TenantRegistry {
  get(tenantId: string): Promise<TenantRecord | undefined>
  list(): Promise<TenantRecord[]>
  /** Admin consent completed for `orgUrl`: creates the tenant or restarts its onboarding (also after offboarding). */
  recordConsent(input: { tenantId: string; orgUrl: string }): Promise<TenantRecord>
  /** The application user and its role exist in the org (created by the app, or by hand). */
  markProvisioned(tenantId: string, by: { objectId: string; name: string | undefined }): Promise<TenantRecord>
  /** Records a check; a successful one makes the tenant `verified` (unless offboarded). */
  recordCheck(
    tenantId: string,
    check: ConnectionCheck,
    by?: { objectId: string; name: string | undefined },
  ): Promise<TenantRecord>
  /** Stops serving the tenant. */
  offboard(tenantId: string): Promise<TenantRecord>
  /**
   * Records an admin-consent state as used: true the first time, false ever after (until it expires). Kept in the
   * database, so a state stays single-use across restarts and across instances sharing the database.
   */
  consumeConsentState(stateId: string, expiresAt: number): Promise<boolean>
  close(): Promise<void>
}
