import { strykerConfig } from '../../scripts/mutation/shared.mjs'

// The middleware between a request and a tenant's org: who the user is, which tenant, which client; and onboarding:
// who may start, complete and manage a tenant's sign-up (router, flow, admins, manage) and where tenants are kept.
export default strykerConfig('packages/hono', [
  'src/verify-user.ts',
  'src/tenant.ts',
  'src/dataverse.ts',
  'src/secure-headers.ts',
  'src/onboarding/router.ts',
  'src/onboarding/start.ts',
  'src/onboarding/callback.ts',
  'src/onboarding/complete.ts',
  'src/onboarding/flow-state.ts',
  'src/onboarding/admins.ts',
  'src/onboarding/manage.ts',
  'src/onboarding/sql-registry.ts',
])
