/** Where a customer tenant is in its life with the app. Only `verified` tenants' users get data. */
export type TenantStatus = 'consented' | 'provisioned' | 'verified' | 'offboarded'

/** One customer tenant as the registry keeps it. */
export interface TenantRecord {
  /** Entra tenant id (lower-case GUID). */
  tenantId: string
  /** The tenant's Dataverse org URL (an origin, e.g. `https://contoso.crm.dynamics.com`). */
  orgUrl: string
  status: TenantStatus
  /** The admin who completed the admin consent of the current connection (object id and display name). */
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

/** Who changed a tenant: a signed-in admin of that tenant (`objectId` from the verified token), or the app itself. */
export interface TenantActor {
  objectId: string | null
  name: string | null
}

/** What happened to a tenant. */
export type TenantEventAction =
  | 'connected'
  | 'provisioned'
  | 'verified'
  | 'offboarded'
  | 'reconnected'
  | 'org_url_changed'

/** One line of a tenant's event log: who did what, when, from which state. */
export interface TenantEvent {
  id: number
  tenantId: string
  at: Date
  action: TenantEventAction
  /** The status before (`null` when the tenant was created). */
  fromStatus: TenantStatus | null
  toStatus: TenantStatus
  actorObjectId: string | null
  actorName: string | null
  /** A short fact for people, e.g. the org URL before and after a change. */
  detail: string | null
}

/** The result of a connection check, recorded on the tenant. */
export interface ConnectionCheck {
  ok: boolean
  detail: string
}

/**
 * The tenant registry the onboarding router works on. Every change is a compare-and-set on the tenant's current
 * status that appends one event in the same statement, and resolves `undefined` when the tenant was not in a state
 * that allows it (so two concurrent admins cannot both win). Implementations: {@link createSqlTenantRegistry} on
 * PostgreSQL (PGlite embedded, or a server).
 */
export interface TenantRegistry {
  get(tenantId: string): Promise<TenantRecord | undefined>
  list(): Promise<TenantRecord[]>
  /** The newest events of a tenant first (default 50). */
  events(tenantId: string, options?: { limit?: number }): Promise<TenantEvent[]>
  /** Creates a tenant that consented (`consented`); `undefined` when the tenant already exists. */
  connect(input: { tenantId: string; orgUrl: string }, by: TenantActor): Promise<TenantRecord | undefined>
  /** An `offboarded` tenant consented again: back to `consented`, for `orgUrl`. */
  reconnect(tenantId: string, orgUrl: string, by: TenantActor): Promise<TenantRecord | undefined>
  /** A connected (not offboarded) tenant moves to another org: back to `consented` (provision and verify again). */
  changeOrgUrl(tenantId: string, orgUrl: string, by: TenantActor): Promise<TenantRecord | undefined>
  /** The application user and its role exist in the org (not for an offboarded tenant). */
  markProvisioned(tenantId: string, by: TenantActor): Promise<TenantRecord | undefined>
  /** Records a check; a successful one makes a `consented` or `provisioned` tenant `verified`. */
  recordCheck(tenantId: string, check: ConnectionCheck, by: TenantActor): Promise<TenantRecord | undefined>
  /** Stops serving the tenant (not for an already offboarded one). */
  offboard(tenantId: string, by: TenantActor): Promise<TenantRecord | undefined>
  /**
   * Records an admin-consent state as used: true the first time, false ever after (until it expires). Kept in the
   * database, so a state stays single-use across restarts and instances.
   */
  consumeConsentState(stateId: string, expiresAt: number): Promise<boolean>
  close(): Promise<void>
}

/**
 * The one thing the SQL registry needs from a PostgreSQL client: run one statement with `$1…` parameters. PGlite's
 * `query` and node-postgres' `Pool#query` both fit.
 */
export interface SqlExecutor {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>
}
