import { strykerConfig } from '../../scripts/mutation/shared.mjs'

// The middleware between a request and a tenant's org: who the user is, which tenant, which client.
export default strykerConfig('packages/hono', [
  'src/verify-user.ts',
  'src/tenant.ts',
  'src/dataverse.ts',
  'src/secure-headers.ts',
])
