export type { ApiBodyLimitOptions } from './body-limit.ts'
export { apiBodyLimit } from './body-limit.ts'
export type { DataverseClientCache, DataverseClientMiddlewareOptions } from './dataverse.ts'
export { createClientCache, dataverseClient } from './dataverse.ts'
export type { ErrorBody, HonoS2SErrorCode } from './errors.ts'
export { errorResponse, HonoS2SError } from './errors.ts'
export type { TenantAdministratorOptions } from './onboarding/admins.ts'
export {
  isTenantAdministrator,
  TENANT_ADMIN_APP_ROLE,
  TENANT_ADMIN_ROLE_TEMPLATE_IDS,
} from './onboarding/admins.ts'
export type { ConnectionCheckOptions, ConnectionCheckResult } from './onboarding/check.ts'
export { checkTenantConnection } from './onboarding/check.ts'
export type { OnboardingIntent } from './onboarding/intent.ts'
export { migrateTenantRegistry, tenantRegistryMigrations } from './onboarding/migrations.ts'
export type { OnboardingRouterOptions } from './onboarding/options.ts'
export { onboardingRouter } from './onboarding/router.ts'
export type { SqlTenantRegistryOptions } from './onboarding/sql-registry.ts'
export { createSqlTenantRegistry } from './onboarding/sql-registry.ts'
export type {
  ConnectionCheck,
  SqlExecutor,
  TenantActor,
  TenantEvent,
  TenantEventAction,
  TenantRecord,
  TenantRegistry,
  TenantStatus,
} from './onboarding/types.ts'
export { dataverseErrorResponse } from './responses.ts'
export type { ApiSecureHeadersOptions } from './secure-headers.ts'
export { apiSecureHeaders } from './secure-headers.ts'
export type { ResolveTenantOptions } from './tenant.ts'
export { resolveTenant } from './tenant.ts'
export type { DataverseActor, DataverseTenant } from './types.ts'
export { apiUtf8Body } from './utf8-body.ts'
export type { DenialEvent, VerifyUserOptions } from './verify-user.ts'
export { verifyUser } from './verify-user.ts'
